// Package segments embeds the shipped ICP segments, so the demo saves the
// very files docs/leads.md describes.
package segments

import "embed"

// Files holds every *.yaml segment of this folder.
//
//go:embed *.yaml
var Files embed.FS
