//go:build !openssl

package passkit

import "crypto"

const signerBackend = "go"

// nativeKey returns the key the Signer signs with and its backend: in the
// default build, the key itself through Go.
func nativeKey(k crypto.Signer) (crypto.Signer, string, error) { return k, "go", nil }
