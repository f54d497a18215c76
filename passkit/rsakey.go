package passkit

// SignerBackend names what makes the RSA signatures in this build: "go"
// (crypto/rsa, the default) or "openssl" (Debian's libcrypto through cgo,
// built with the tag openssl). Both give the same bytes: PKCS#1 v1.5
// signatures are deterministic, and this package assembles the PKCS#7
// around them either way.
func SignerBackend() string { return signerBackend }

// Backend reports what signs for this Signer: SignerBackend for an RSA
// key, "go" for any other key (ECDSA, a hardware signer), which libcrypto
// is never handed.
func (s *Signer) Backend() string { return s.backend }
