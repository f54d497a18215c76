// Package templates embeds passd's starter card templates: one folder per
// program holding program.json, the card images and the localizations.
package templates

import "embed"

// FS holds the embedded template folders.
//
//go:embed all:demo
var FS embed.FS
