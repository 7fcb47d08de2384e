// vcsim for Nephele's tests: govmomi's vSphere simulator (the library Debian
// packages as golang-github-vmware-govmomi-dev) behind a small command line.
// Debian ships the library but not upstream's vcsim program, so
// tests/peers/vcsim.sh builds this file offline in GOPATH mode.
//
// It serves a vCenter inventory (by default: one datacenter, one cluster of
// three hosts, one standalone host, one datastore) on the given loopback
// address, prints "vcsim ready URL" and runs until SIGTERM or SIGINT.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/vmware/govmomi/simulator"
)

func main() {
	model := simulator.VPX()
	listen := flag.String("l", "127.0.0.1:0", "listen address (host:port; port 0 picks one)")
	useTLS := flag.Bool("tls", true, "serve HTTPS (with the simulator's self-signed certificate unless -cert)")
	cert := flag.String("cert", "", "PEM certificate for HTTPS")
	key := flag.String("key", "", "PEM key for -cert")
	user := flag.String("username", "", "the only user name accepted (empty: any)")
	pass := flag.String("password", "", "the only password accepted with -username")
	flag.IntVar(&model.ClusterHost, "host", model.ClusterHost, "hosts per cluster")
	flag.IntVar(&model.Host, "standalone-host", model.Host, "standalone hosts per datacenter")
	flag.IntVar(&model.Machine, "vm", 0, "virtual machines made at start per resource pool")
	trace := flag.String("trace-file", "", "write every SOAP request and response to this file")
	flag.Parse()

	if *trace != "" {
		f, err := os.Create(*trace)
		if err != nil {
			log.Fatal(err)
		}
		simulator.TraceFile = f
		simulator.Trace = true
	}
	if err := model.Create(); err != nil {
		log.Fatal(err)
	}
	defer model.Remove()

	u := &url.URL{Host: *listen}
	if *user != "" {
		u.User = url.UserPassword(*user, *pass)
	}
	model.Service.Listen = u
	if *useTLS {
		model.Service.TLS = new(tls.Config)
		if *cert != "" {
			pair, err := tls.LoadX509KeyPair(*cert, *key)
			if err != nil {
				log.Fatal(err)
			}
			model.Service.TLS.Certificates = []tls.Certificate{pair}
		}
	}
	server := model.Service.NewServer()
	defer server.Close()
	fmt.Printf("vcsim ready %s\n", server.URL)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
}
