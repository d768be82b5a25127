// Package discovery lets people on the office network find a Parley host
// without typing an address: mDNS/DNS-SD announcement and browsing of
// _parley._tcp, and DNS SRV look-ups for companies with their own DNS. The
// LAN discovery issue fills it; until then nothing imports it.
package discovery
