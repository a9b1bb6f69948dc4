package main

import (
	"net"
	"net/netip"
	"strconv"

	"github.com/wharfhq/wharf/internal/egress"
)

// egressPolicy is where teams' webhook receivers may connect: not to
// loopback, private, link-local or other special addresses unless
// notify.allow_receiver_networks allows them, and never to this node's
// own listeners (those it is configured with, those already bound, and
// the gateway's once it listens: see ownGateway). One policy per process.
func (w *wiring) egressPolicy() (*egress.Policy, error) {
	if w.egress != nil {
		return w.egress, nil
	}
	allow, err := egress.ParseAllow(w.opts.Notify.AllowReceiverNetworks)
	if err != nil {
		return nil, err
	}
	addrs := []string{w.opts.Gateway.Listen, w.opts.Internal.Listen, w.opts.Gateway.TLS.Listen}
	if w.ops != nil {
		addrs = append(addrs, w.ops.Addr().String())
	}
	if w.nsqd != nil {
		addrs = append(addrs, w.nsqd.TCPAddr(), w.nsqd.HTTPAddr())
	}
	var own []netip.AddrPort
	for _, a := range addrs {
		if ap, ok := listenAddr(a); ok {
			own = append(own, ap)
		}
	}
	w.egress = egress.New(egress.Options{Allow: allow, Own: own})
	return w.egress, nil
}

// ownGateway adds the gateway's bound addresses (a port 0 listener's
// real port) to the egress policy's own listeners.
func (w *wiring) ownGateway() {
	if w.egress == nil || w.gw == nil {
		return
	}
	for _, a := range []net.Addr{w.gw.Addr(), w.gw.TLSAddr()} {
		if a == nil {
			continue
		}
		if ap, ok := listenAddr(a.String()); ok {
			w.egress.AddOwn(ap)
		}
	}
}

// listenAddr parses a listen address (":8080", "0.0.0.0:80",
// "[::1]:9090"); false for none or port 0.
func listenAddr(s string) (netip.AddrPort, bool) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return netip.AddrPort{}, false
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return netip.AddrPort{}, false
	}
	a := netip.IPv4Unspecified()
	if host != "" {
		if a, err = netip.ParseAddr(host); err != nil {
			return netip.AddrPort{}, false // a name: its addresses are not known here
		}
	}
	return netip.AddrPortFrom(a, uint16(p)), true
}
