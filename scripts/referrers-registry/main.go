// Command referrers-registry serves go-containerregistry's in-memory registry with the OCI 1.1
// referrers API switched on (`crane registry serve` leaves it off), on 127.0.0.1 only. ShipML's
// tests use it as the "registry that has the referrers API" next to CNCF distribution 2.8,
// which has none. Test infrastructure only: built by scripts/attest-tools.sh.
package main

import (
	"flag"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

func main() {
	addr := flag.String("address", "127.0.0.1:0", "host:port to listen on")
	flag.Parse()
	listener, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("serving on %s", listener.Addr())
	server := &http.Server{
		Handler:           registry.New(registry.WithReferrersSupport(true)),
		ReadHeaderTimeout: 10 * time.Second,
	}
	log.Fatal(server.Serve(listener))
}
