package server

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/passd/passd/internal/config"
	"github.com/passd/passd/passkit"
)

// LoadCredentials loads the configured Apple pass certificate, key and
// WWDR intermediate and checks them, or, when none is configured, the
// development set in the data folder (generated on first start). Problems
// come back as one line naming the variable to fix.
func LoadCredentials(cfg config.Config, now time.Time, log *slog.Logger) (*passkit.Credentials, error) {
	var (
		creds *passkit.Credentials
		err   error
		blame = "PASSD_APPLE_CERT"
	)
	switch {
	case cfg.DevCertificates():
		creds, err = passkit.LoadOrGenerateDev(cfg.DataDir, cfg.ApplePassTypeID, cfg.AppleTeamID, now)
		if err != nil {
			return nil, fmt.Errorf("PASSD_DATA_DIR: development certificates: %w", err)
		}
		log.Warn("USING DEVELOPMENT CERTIFICATES: passes are signed by a generated CA and will NOT install on a real iPhone; set PASSD_APPLE_CERT/KEY (or P12) and PASSD_APPLE_WWDR for real passes",
			"dir", cfg.DataDir, "pass_type_id", cfg.ApplePassTypeID)
	case cfg.AppleP12 != "":
		blame = "PASSD_APPLE_P12"
		creds, err = passkit.LoadP12File(cfg.AppleP12, cfg.AppleP12Password, cfg.AppleWWDR)
	default:
		creds, err = passkit.LoadPEMFiles(cfg.AppleCert, cfg.AppleKey, cfg.AppleWWDR)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %s", blame, oneLine(err))
	}
	if err := creds.Check(cfg.ApplePassTypeID, cfg.AppleTeamID, now); err != nil {
		return nil, fmt.Errorf("%s: %s", blame, oneLine(err))
	}
	if !cfg.DevCertificates() {
		if passkit.IsAppleWWDRG4(creds.WWDR) {
			log.Info("pass certificate issued by Apple WWDR G4", "pass_type_id", cfg.ApplePassTypeID, "expires", creds.Certificate.NotAfter)
		} else {
			log.Warn("PASSD_APPLE_WWDR is not Apple's WWDR G4 intermediate; passes install only if it is a current Apple WWDR certificate",
				"wwdr_subject", creds.WWDR.Subject.String())
		}
		if left := creds.Certificate.NotAfter.Sub(now); left < 30*24*time.Hour {
			log.Warn("pass certificate expires soon; renew it in the Apple Developer portal", "expires", creds.Certificate.NotAfter)
		}
	}
	return creds, nil
}

func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}
