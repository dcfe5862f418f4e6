package golab

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"syscall"
)

// Listen opens the server's port, a failure as one line (lib/listen-error.ts): a port in
// use or an address this machine does not have is a bad flag, not a crash.
func Listen(host string, port int64) (net.Listener, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.FormatInt(port, 10)))
	if err == nil {
		return l, nil
	}
	where := Authority(host, port)
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return nil, Usagef("--port %d: %s is already in use", port, where)
	case errors.Is(err, syscall.EACCES):
		return nil, Usagef("--port %d: not allowed to listen on %s", port, where)
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return nil, Usagef("--host %s: not an address of this machine", host)
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return nil, Usagef("--host %s: not an address of this machine", host)
	}
	return nil, err
}

// Port is the port a listener got.
func Port(l net.Listener) int { return l.Addr().(*net.TCPAddr).Port }

// ServerTLS is the server's TLS configuration for --tls-cert/--tls-key (ALPN h2), or nil for h2c.
func ServerTLS(s *ServerSettings) (*tls.Config, error) {
	if s.TLSCert == nil {
		return nil, nil
	}
	cert, err := tls.X509KeyPair(s.TLSCert, s.TLSKey)
	if err != nil {
		return nil, Usagef("--tls-cert/--tls-key: %s", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2"}, MinVersion: tls.VersionTLS12, KeyLogWriter: keyLog()}, nil
}

// keyLog is where crypto/tls writes the connections' secrets when SSLKEYLOGFILE names a
// file (the lab's tap reads inside TLS with them, issue 19), one whole line per write.
func keyLog() io.Writer {
	name := os.Getenv("SSLKEYLOGFILE")
	if name == "" {
		return nil
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil
	}
	return f
}

// ClientTLS is a client's TLS configuration trusting --tls-ca (ALPN h2), or nil for h2c.
func ClientTLS(s *ClientSettings) (*tls.Config, error) {
	if s.TLSCA == nil {
		return nil, nil
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.TLSCA) {
		return nil, Usagef("--tls-ca: no certificate in it")
	}
	return &tls.Config{RootCAs: pool, NextProtos: []string{"h2"}, MinVersion: tls.VersionTLS12, KeyLogWriter: keyLog()}, nil
}
