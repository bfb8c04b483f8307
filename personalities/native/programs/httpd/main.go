// Command httpd is net/http's server on the native personality: the
// inbound direction, loaded by real clients (curl, ab) in the peer
// namespace. Routes:
//
//	/hello              a short text answer
//	/blob?size=N&seed=S N bytes of a ChaCha8 stream keyed by S (N ≤ 1 GiB),
//	                    so a client can check what it got
//
// It prints "LISTENING <address>" once it accepts connections.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"

	"grailos/kernel/sys"
	"grailos/personalities/native"
)

func main() {
	t, err := sys.Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "httpd: %v\n", err)
		os.Exit(1)
	}
	fs := flag.NewFlagSet("httpd", flag.ContinueOnError)
	addr := fs.String("listen", ":8080", "the address to listen on")
	if err := fs.Parse(t.Args); err != nil {
		os.Exit(2)
	}
	go t.Serve(context.Background())
	if _, err := native.Open(t); err != nil {
		fmt.Fprintf(os.Stderr, "httpd: %v\n", err)
		os.Exit(1)
	}
	ln, err := native.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "httpd: %v\n", err)
		os.Exit(1)
	}
	t.Ready()
	fmt.Printf("LISTENING %s\n", ln.Addr())
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello from GrailOS")
	})
	mux.HandleFunc("/blob", blob)
	err = (&http.Server{Handler: mux}).Serve(ln)
	fmt.Fprintf(os.Stderr, "httpd: %v\n", err)
	os.Exit(1)
}

// Blob answers N bytes of the ChaCha8 stream keyed by the seed.
func blob(w http.ResponseWriter, r *http.Request) {
	size, err := strconv.ParseInt(r.URL.Query().Get("size"), 10, 64)
	if err != nil || size < 0 || size > 1<<30 {
		http.Error(w, "size: a byte count up to 1 GiB", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	w.Header().Set("Content-Type", "application/octet-stream")
	io.CopyN(w, stream(r.URL.Query().Get("seed")), size)
}

// stream is the byte stream /blob serves for a seed: ChaCha8 keyed by the
// seed's bytes (zero-padded, at most 32 used).
func stream(seed string) io.Reader {
	var key [32]byte
	copy(key[:], seed)
	return rand.NewChaCha8(key)
}
