// Package automation embeds the shipped workflows, so the demo applies the
// very files docs/automation.md describes and users copy.
package automation

import "embed"

// Files holds every *.yaml workflow of this folder.
//
//go:embed *.yaml
var Files embed.FS
