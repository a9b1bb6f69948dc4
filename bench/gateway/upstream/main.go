// Command upstream is the fixed backend of the gateway side-by-side benchmark
// (bench/gateway/run.sh): a fasthttp server on a loopback port that answers
// every request with the same small body, keep-alive on.
//
// GET /_bench/headers answers with the request headers it received instead,
// so the script can check what each proxy forwards (Host, X-Forwarded-For,
// X-Request-Id); the load itself only ever requests "/".
//
// It binds -listen (default 127.0.0.1:0, a free port chosen by the kernel) and
// writes the bound address to -addr-file once it accepts connections, so the
// benchmark script never races for a port.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/valyala/fasthttp"
)

// Body is what every request gets: 100 bytes, newline included.
const Body = "wharf bench upstream: a fixed body of exactly one hundred bytes, returned for every request path:ok\n"

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on (loopback only)")
	addrFile := flag.String("addr-file", "", "write the bound host:port to this file once listening")
	flag.Parse()
	if err := run(*listen, *addrFile); err != nil {
		log.Fatalf("upstream: %v", err)
	}
}

func run(listen, addrFile string) error {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("cannot parse -listen %q: %w", listen, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("refusing to listen on %q: loopback addresses only", listen)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", listen, err)
	}
	body := []byte(Body)
	srv := &fasthttp.Server{
		Name: "bench-upstream",
		Handler: func(ctx *fasthttp.RequestCtx) {
			ctx.SetContentType("text/plain; charset=utf-8")
			if string(ctx.Path()) == "/_bench/headers" { // no allocation: the compiler elides the conversion
				ctx.SetBody(ctx.Request.Header.Header())
				return
			}
			ctx.SetBody(body)
		},
	}
	if addrFile != "" {
		// Write then rename so a reader never sees a half-written file.
		tmp := addrFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(ln.Addr().String()+"\n"), 0o644); err != nil {
			return fmt.Errorf("cannot write address file: %w", err)
		}
		if err := os.Rename(tmp, addrFile); err != nil {
			return fmt.Errorf("cannot write address file: %w", err)
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		_ = srv.Shutdown()
	}()
	return srv.Serve(ln)
}
