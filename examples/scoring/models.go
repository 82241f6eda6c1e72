// Package scoring embeds the shipped scoring models, so the demo applies
// the very files docs/leads.md describes and users copy.
package scoring

import "embed"

// Files holds every *.yaml model of this folder.
//
//go:embed *.yaml
var Files embed.FS

// Demo names the models the demo organisation applies (x-education.yaml is
// for the X Education import, whose events differ).
var Demo = []string{"inbound.yaml", "enterprise.yaml"}
