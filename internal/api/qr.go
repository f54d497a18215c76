package api

import (
	"net/http"

	"github.com/passd/passd/internal/cards"
	"github.com/passd/passd/internal/loyalty"
)

// barcodePNG answers the member's barcode token as a QR code, for printing
// the card or showing it in the merchant's own app. The token only changes
// with the server secret, but an erasure must take effect: private caches
// keep it an hour at most.
func (s *Server) barcodePNG(w http.ResponseWriter, r *http.Request) error {
	m, err := s.liveMember(r, loyalty.RolePOS)
	if err != nil {
		return err
	}
	size, err := cards.QRSize(r)
	if err != nil {
		return err
	}
	data, err := cards.QRPNG(loyalty.BarcodeToken(s.Secret, m.Number), size)
	if err != nil {
		return err
	}
	cards.WritePNG(w, data, "private, max-age=3600")
	return nil
}
