package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/passd/passd/internal/config"
	"github.com/passd/passd/passkit"
)

// certsDev generates (or keeps, when still valid) the development
// certificates passd uses when no Apple certificate is configured.
func certsDev(args []string, getenv func(string) string, stdout io.Writer) (int, error) {
	fs := flag.NewFlagSet("certs dev", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dir := fs.String("dir", "", "folder to write into (default: PASSD_DATA_DIR)")
	if err := fs.Parse(args); err != nil {
		return 2, fmt.Errorf("certs dev: %v: %w", err, errUsage)
	}
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return 1, err
	}
	if *dir == "" {
		*dir = cfg.DataDir
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return 1, fmt.Errorf("certs dev: %w", err)
	}
	creds, err := passkit.LoadOrGenerateDev(*dir, cfg.ApplePassTypeID, cfg.AppleTeamID, time.Now())
	if err != nil {
		return 1, fmt.Errorf("certs dev: %w", err)
	}
	fmt.Fprintf(stdout, "development certificates in %s (pass type %s, team %s, valid until %s)\n",
		*dir, cfg.ApplePassTypeID, cfg.AppleTeamID, creds.Certificate.NotAfter.Format(time.DateOnly))
	fmt.Fprintln(stdout, "passes signed with them will NOT install on a real iPhone; see certs.example/README.md for Apple's certificate")
	return 0, nil
}

// verify checks a .pkpass the way iOS would and prints each problem on its
// own line; exit 1 on any problem.
func verify(args []string, stdout io.Writer) (int, error) {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	wwdrFile := fs.String("wwdr", "", "WWDR (or dev CA) certificate the signer must be issued by")
	// Accept the file before or after the flags.
	var file string
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		file, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return 2, fmt.Errorf("verify: %v: %w", err, errUsage)
	}
	if file == "" && fs.NArg() == 1 {
		file = fs.Arg(0)
	}
	if file == "" {
		return 2, fmt.Errorf("verify: name one .pkpass file: %w", errUsage)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return 1, fmt.Errorf("verify: %w", err)
	}
	var opts passkit.VerifyOptions
	if *wwdrFile != "" {
		pem, err := os.ReadFile(*wwdrFile)
		if err != nil {
			return 1, fmt.Errorf("verify: --wwdr: %w", err)
		}
		if opts.WWDR, err = passkit.ParseCertificate(pem); err != nil {
			return 1, fmt.Errorf("verify: --wwdr: %w", err)
		}
	}
	problems := passkit.Verify(data, opts)
	for _, p := range problems {
		fmt.Fprintln(stdout, p.String())
	}
	if len(problems) > 0 {
		fmt.Fprintf(stdout, "%s: %d problem(s)\n", file, len(problems))
		return 1, nil
	}
	// Warnings: what Verify could not check, or what works here but not
	// on an iPhone.
	if opts.WWDR == nil {
		fmt.Fprintf(stdout, "warning: the signer's certificate chain was not checked; give --wwdr WWDR.pem to check it\n")
	}
	if u := webServiceURL(data); u != "" && !strings.HasPrefix(u, "https://") {
		fmt.Fprintf(stdout, "warning: webServiceURL %q is not https: iPhones refuse it, so this card will never update\n", u)
	}
	fmt.Fprintf(stdout, "%s: ok\n", file)
	return 0, nil
}

// webServiceURL reads pass.json's webServiceURL from a .pkpass ("" when
// it has none or cannot be read; Verify reports unreadable bundles).
func webServiceURL(pkpass []byte) string {
	zr, err := zip.NewReader(bytes.NewReader(pkpass), int64(len(pkpass)))
	if err != nil {
		return ""
	}
	f, err := zr.Open("pass.json")
	if err != nil {
		return ""
	}
	defer f.Close()
	var p struct {
		WebServiceURL string `json:"webServiceURL"`
	}
	if json.NewDecoder(io.LimitReader(f, 1<<20)).Decode(&p) != nil {
		return ""
	}
	return p.WebServiceURL
}
