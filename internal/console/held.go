package console

import (
	"crypto/rand"
	"sync"
	"time"
)

// The programme editor previews an uploaded image before it is saved. The
// page's CSP allows images from passd only (no data: URIs), so the image
// is held in memory, under a random id, and served at a short-lived URL
// to the session and programme that uploaded it. The holding is bounded
// in count and bytes, each image expires, and a session holds one image
// per programme and slot: a preview can never grow passd's memory without
// bound.
const (
	// HeldImageTTL is how long a previewed image stays: its preview page
	// shows it, and its "Save" stores it, within this time.
	HeldImageTTL = 10 * time.Minute
	// MaxHeldImages and MaxHeldBytes bound the images held at once, over
	// every session; the oldest go first.
	MaxHeldImages = 32
	MaxHeldBytes  = 16 << 20
)

// heldImage is an uploaded image waiting in a preview.
type heldImage struct {
	session, program, slot string
	data                   []byte
	expires                time.Time
}

// heldImages holds the images of the editor's previews. Safe for
// concurrent use.
type heldImages struct {
	now            func() time.Time
	maxN, maxBytes int
	mu             sync.Mutex
	bytes          int
	images         map[string]heldImage
	order          []string // ids, oldest first
}

func newHeldImages(now func() time.Time, maxN, maxBytes int) *heldImages {
	return &heldImages{now: now, maxN: maxN, maxBytes: maxBytes, images: map[string]heldImage{}}
}

// put holds data, the image of a programme's slot uploaded in a session
// (named by its hash), and answers its id. The session's earlier image of
// that programme and slot goes, and so do expired images and then the
// oldest ones until the bounds hold. An image larger than every byte the
// holding may keep is not held (ok false).
func (h *heldImages) put(session, program, slot string, data []byte) (id string, ok bool) {
	if len(data) > h.maxBytes {
		return "", false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	var gone []string
	for _, old := range h.order {
		img := h.images[old]
		if !now.Before(img.expires) || (img.session == session && img.program == program && img.slot == slot) {
			gone = append(gone, old)
		}
	}
	for _, old := range gone {
		h.drop(old)
	}
	for len(h.order) > 0 && (len(h.order)+1 > h.maxN || h.bytes+len(data) > h.maxBytes) {
		h.drop(h.order[0])
	}
	id = rand.Text()
	h.images[id] = heldImage{session: session, program: program, slot: slot, data: data, expires: now.Add(HeldImageTTL)}
	h.order = append(h.order, id)
	h.bytes += len(data)
	return id, true
}

// get answers the image held under id for session and program, unless it
// has expired.
func (h *heldImages) get(id, session, program string) (heldImage, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	img, ok := h.images[id]
	if !ok || img.session != session || img.program != program {
		return heldImage{}, false
	}
	if !h.now().Before(img.expires) {
		h.drop(id)
		return heldImage{}, false
	}
	return img, true
}

// remove lets the image held under id go (once saved).
func (h *heldImages) remove(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.drop(id)
}

// held answers how many images and bytes are held.
func (h *heldImages) held() (n, bytes int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.order), h.bytes
}

// drop removes id; h.mu is held.
func (h *heldImages) drop(id string) {
	img, ok := h.images[id]
	if !ok {
		return
	}
	delete(h.images, id)
	h.bytes -= len(img.data)
	for i, o := range h.order {
		if o == id {
			h.order = append(h.order[:i], h.order[i+1:]...)
			break
		}
	}
}
