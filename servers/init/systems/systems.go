// Package systems embeds the system files that ship with GrailOS.
package systems

import _ "embed"

// Default is the system `grail up` boots when no file is named.
//
//go:embed default.toml
var Default []byte
