//go:build evalctl_noembed

package models

import "embed"

// files is empty: this binary embeds no model (see the package doc).
var files embed.FS

// Names is empty: no built-in model is registered.
var Names []string
