// Package routing embeds the shipped routing rule set, so the demo applies
// the file docs/routing.md describes.
package routing

import _ "embed"

// Demo is examples/routing/demo.yaml.
//
//go:embed demo.yaml
var Demo []byte
