package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/pflag"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
)

// DefaultAddress is the Temporal frontend genius talks to when neither
// --address nor TEMPORAL_ADDRESS says otherwise (the dev server's default).
const DefaultAddress = "127.0.0.1:7233"

// clientFlags are the connection flags every verb that talks to Temporal
// shares (README, Configuration); each has an environment variable, and the
// flag wins.
type clientFlags struct {
	Address       string
	Namespace     string
	APIKey        string
	TLSCert       string
	TLSKey        string
	TLSCA         string
	TLSServerName string
	// EncryptionKeyFile, when set, encrypts payloads (encryption.go).
	EncryptionKeyFile string
}

func addClientFlags(fs *pflag.FlagSet, f *clientFlags) {
	fs.StringVar(&f.Address, "address", envOr("TEMPORAL_ADDRESS", DefaultAddress), "Temporal frontend host:port (env TEMPORAL_ADDRESS)")
	fs.StringVar(&f.Namespace, "namespace", envOr("TEMPORAL_NAMESPACE", client.DefaultNamespace), "Temporal namespace (env TEMPORAL_NAMESPACE)")
	// The default is not shown in help so a key from the environment is never printed.
	fs.StringVar(&f.APIKey, "api-key", "", "Temporal Cloud API key (env TEMPORAL_API_KEY; never logged)")
	fs.StringVar(&f.TLSCert, "tls-cert", envOr("TEMPORAL_TLS_CERT", ""), "mTLS client certificate file (env TEMPORAL_TLS_CERT)")
	fs.StringVar(&f.TLSKey, "tls-key", envOr("TEMPORAL_TLS_KEY", ""), "mTLS client key file (env TEMPORAL_TLS_KEY)")
	fs.StringVar(&f.TLSCA, "tls-ca", envOr("TEMPORAL_TLS_CA", ""), "CA certificate file to verify the server (env TEMPORAL_TLS_CA)")
	fs.StringVar(&f.TLSServerName, "tls-server-name", envOr("TEMPORAL_TLS_SERVER_NAME", ""), "server name to verify in the server's certificate (env TEMPORAL_TLS_SERVER_NAME)")
	addEncryptionKeyFlag(fs, &f.EncryptionKeyFile)
}

// apiKey is the flag, else TEMPORAL_API_KEY.
func (f clientFlags) apiKey() string {
	if f.APIKey != "" {
		return f.APIKey
	}
	return os.Getenv("TEMPORAL_API_KEY")
}

// tlsConfig builds the TLS settings; nil means plain gRPC (the dev server).
// An API key implies TLS, as Temporal Cloud requires.
func (f clientFlags) tlsConfig() (*tls.Config, error) {
	if f.TLSCert == "" && f.TLSKey == "" && f.TLSCA == "" && f.TLSServerName == "" && f.apiKey() == "" {
		return nil, nil
	}
	cfg := &tls.Config{ServerName: f.TLSServerName, MinVersion: tls.VersionTLS12}
	if (f.TLSCert == "") != (f.TLSKey == "") {
		return nil, errors.New("--tls-cert and --tls-key go together: give both files (env TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY) or neither")
	}
	if f.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(f.TLSCert, f.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("load --tls-cert/--tls-key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if f.TLSCA != "" {
		pem, err := os.ReadFile(f.TLSCA)
		if err != nil {
			return nil, fmt.Errorf("read --tls-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-ca %s holds no PEM certificate", f.TLSCA)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// options returns SDK client options; logger nil silences the SDK.
func (f clientFlags) options(logger *slog.Logger) (client.Options, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	tlsCfg, err := f.tlsConfig()
	if err != nil {
		return client.Options{}, err
	}
	o := client.Options{
		HostPort:          f.Address,
		Namespace:         f.Namespace,
		Logger:            tlog.NewStructuredLogger(logger),
		ConnectionOptions: client.ConnectionOptions{TLS: tlsCfg},
	}
	if k := f.apiKey(); k != "" {
		o.Credentials = client.NewAPIKeyStaticCredentials(k)
	}
	if err := setEncryption(&o, f.EncryptionKeyFile, logger); err != nil {
		return client.Options{}, err
	}
	return o, nil
}

// dial connects and checks the server answers, with an error that says
// how to get one.
func (f clientFlags) dial(ctx context.Context, logger *slog.Logger) (client.Client, error) {
	o, err := f.options(logger)
	if err != nil {
		return nil, err
	}
	c, err := client.DialContext(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s (namespace %s): %w; start a local server with `genius dev` or point --address/TEMPORAL_ADDRESS at yours", f.Address, f.Namespace, err)
	}
	return c, nil
}

// newLogger writes text logs to w (a command's stderr) at the given level.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}
