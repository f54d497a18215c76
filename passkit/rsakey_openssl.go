//go:build openssl

package passkit

/*
#cgo LDFLAGS: -lcrypto
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

static EVP_PKEY *passkit_load_key(const unsigned char *der, long len) {
	const unsigned char *p = der;
	return d2i_AutoPrivateKey(NULL, &p, len);
}

// passkit_sign_ctx prepares a context for PKCS#1 v1.5 signatures of
// SHA-256 digests; NULL on failure.
static EVP_PKEY_CTX *passkit_sign_ctx(EVP_PKEY *key) {
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
	if (ctx == NULL) {
		return NULL;
	}
	if (EVP_PKEY_sign_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) <= 0) {
		EVP_PKEY_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static int passkit_sign(EVP_PKEY_CTX *ctx, const unsigned char *digest, size_t dlen,
                        unsigned char *sig, size_t *siglen) {
	return EVP_PKEY_sign(ctx, sig, siglen, digest, dlen);
}
*/
import "C"

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"unsafe"
)

const signerBackend = "openssl"

// nativeKey loads an RSA key into libcrypto; other keys stay with Go.
func nativeKey(k crypto.Signer) (crypto.Signer, string, error) {
	priv, ok := k.(*rsa.PrivateKey)
	if !ok {
		return k, "go", nil
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, "", fmt.Errorf("openssl key: %w", err)
	}
	pkey := C.passkit_load_key((*C.uchar)(unsafe.Pointer(&der[0])), C.long(len(der)))
	clear(der)
	if pkey == nil {
		return nil, "", errors.New("openssl key: libcrypto could not load the RSA key")
	}
	o := &opensslKey{pub: &priv.PublicKey, size: priv.Size(), st: &keyState{pkey: pkey}}
	// A first context proves libcrypto can sign with the key before any
	// pass needs it.
	ctx, err := o.st.get()
	if err != nil {
		o.st.close()
		return nil, "", err
	}
	o.st.put(ctx)
	runtime.AddCleanup(o, (*keyState).close, o.st)
	return o, "openssl", nil
}

// opensslKey signs SHA-256 digests with PKCS#1 v1.5 padding through
// libcrypto. The key and its contexts are freed when the opensslKey is
// garbage collected.
type opensslKey struct {
	pub  *rsa.PublicKey
	size int
	st   *keyState
}

// keyState holds the libcrypto key and its prepared signing contexts. An
// EVP_PKEY_CTX serves one signature at a time, so contexts wait in a free
// list: as many as signatures have run at once, kept for the key's life.
type keyState struct {
	pkey *C.EVP_PKEY
	mu   sync.Mutex
	free []*C.EVP_PKEY_CTX
}

func (st *keyState) close() {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, ctx := range st.free {
		C.EVP_PKEY_CTX_free(ctx)
	}
	st.free = nil
	C.EVP_PKEY_free(st.pkey)
	st.pkey = nil
}

func (st *keyState) get() (*C.EVP_PKEY_CTX, error) {
	st.mu.Lock()
	if n := len(st.free); n > 0 {
		ctx := st.free[n-1]
		st.free = st.free[:n-1]
		st.mu.Unlock()
		return ctx, nil
	}
	st.mu.Unlock()
	ctx := C.passkit_sign_ctx(st.pkey)
	if ctx == nil {
		return nil, errors.New("openssl sign: libcrypto could not prepare a signing context")
	}
	return ctx, nil
}

func (st *keyState) put(ctx *C.EVP_PKEY_CTX) {
	st.mu.Lock()
	st.free = append(st.free, ctx)
	st.mu.Unlock()
}

func (o *opensslKey) Public() crypto.PublicKey { return o.pub }

func (o *opensslKey) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if _, pss := opts.(*rsa.PSSOptions); pss || opts.HashFunc() != crypto.SHA256 {
		return nil, errors.New("openssl sign: only PKCS#1 v1.5 with SHA-256 is supported")
	}
	if len(digest) != crypto.SHA256.Size() {
		return nil, fmt.Errorf("openssl sign: digest of %d bytes, want %d", len(digest), crypto.SHA256.Size())
	}
	ctx, err := o.st.get()
	if err != nil {
		return nil, err
	}
	sig := make([]byte, o.size)
	n := C.size_t(len(sig))
	rc := C.passkit_sign(ctx, (*C.uchar)(unsafe.Pointer(&digest[0])), C.size_t(len(digest)),
		(*C.uchar)(unsafe.Pointer(&sig[0])), &n)
	o.st.put(ctx)
	runtime.KeepAlive(o)
	if rc <= 0 {
		return nil, errors.New("openssl sign: EVP_PKEY_sign failed")
	}
	return sig[:n], nil
}
