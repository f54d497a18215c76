package main

import "testing"

func TestMemoryLimit(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if got := memoryLimit(env(nil)); got != DefaultMemoryLimit {
		t.Errorf("memoryLimit(no GOMEMLIMIT) = %d, want the default %d", got, DefaultMemoryLimit)
	}
	for _, v := range []string{"200MiB", "off"} {
		if got := memoryLimit(env(map[string]string{"GOMEMLIMIT": v})); got != 0 {
			t.Errorf("memoryLimit(GOMEMLIMIT=%s) = %d, want 0: the runtime's own setting stays", v, got)
		}
	}
}
