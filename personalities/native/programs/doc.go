// Package programs holds ordinary Go programs that run on GrailOS on the
// native personality: fetch (an HTTP download with progress, checksum and
// stall measurement) and httpd (net/http serving the peer). They are
// written as a user would write them: the only GrailOS-specific lines are
// sys.Start and native.Open.
package programs
