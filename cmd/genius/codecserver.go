package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/genius-nas/genius/codecserver"
)

// Environment of genius codec-server.
const (
	envCodecToken     = "GENIUS_CODEC_AUTH_TOKEN"
	envCodecTokenFile = "GENIUS_CODEC_AUTH_TOKEN_FILE"
	envCodecOrigins   = "GENIUS_CODEC_CORS_ORIGINS"
)

// codecServerOptions are the flags of genius codec-server.
type codecServerOptions struct {
	KeyFile   string
	Listen    string
	Origins   []string
	TokenFile string
}

// AddFlags registers the options on fs.
func (o *codecServerOptions) AddFlags(fs *pflag.FlagSet) {
	addEncryptionKeyFlag(fs, &o.KeyFile)
	fs.StringVar(&o.Listen, "listen", "127.0.0.1:8081", "host:port to serve on")
	var origins []string
	if v := envOr(envCodecOrigins, ""); v != "" {
		origins = strings.Split(v, ",")
	}
	fs.StringSliceVar(&o.Origins, "cors-origin", origins, "browser origin allowed to call the server, e.g. the Web UI's http://localhost:8233; repeat or comma-separate for several (env "+envCodecOrigins+")")
	fs.StringVar(&o.TokenFile, "auth-token-file", envOr(envCodecTokenFile, ""), "file holding a bearer token that requests must carry (Authorization: Bearer TOKEN); or set the token in env "+envCodecToken+" (env "+envCodecTokenFile+")")
}

func newCodecServerCmd() *cobra.Command {
	var o codecServerOptions
	cmd := &cobra.Command{
		Use:   "codec-server --encryption-key-file FILE",
		Short: "Serve Temporal's codec-server protocol so the Web UI and the temporal CLI show encrypted payloads",
		Long: `Decrypt (and encrypt) payloads for the Temporal Web UI and the temporal CLI
with the keys of --encryption-key-file, over Temporal's remote codec protocol
(POST /encode and /decode with Payloads as JSON; GET /healthz).

  temporal workflow show --workflow-id ID --codec-endpoint http://127.0.0.1:8081

For the Web UI, set its codec endpoint to this server's URL and allow the
UI's origin with --cors-origin (the dev server's UI: http://localhost:8233).
With a bearer token (--auth-token-file or env GENIUS_CODEC_AUTH_TOKEN) every
request must carry it:  temporal ... --codec-auth "Bearer TOKEN".
Anyone who can reach the server can read the payloads it decodes: keep it
on loopback or behind the token and TLS.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCodecServer(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

// token is the bearer token from --auth-token-file, else the environment.
func (o codecServerOptions) token() (string, error) {
	if o.TokenFile != "" {
		b, err := os.ReadFile(o.TokenFile)
		if err != nil {
			return "", fmt.Errorf("--auth-token-file (env %s): %w", envCodecTokenFile, err)
		}
		t := strings.TrimSpace(string(b))
		if t == "" {
			return "", fmt.Errorf("--auth-token-file %s is empty: put the token in it, or leave the flag out to serve without a token", o.TokenFile)
		}
		return t, nil
	}
	return strings.TrimSpace(os.Getenv(envCodecToken)), nil
}

func runCodecServer(ctx context.Context, o codecServerOptions, stdout, stderr io.Writer) error {
	if o.KeyFile == "" {
		return fmt.Errorf("--%s is required (env %s): the key file the workers encrypt with", encryptionKeyFlag, envEncryptionKeyFile)
	}
	codec, err := loadCodec(o.KeyFile)
	if err != nil {
		return err
	}
	for _, origin := range o.Origins {
		if !strings.HasPrefix(origin, "http://") && !strings.HasPrefix(origin, "https://") || strings.HasSuffix(origin, "/") {
			return fmt.Errorf("--cors-origin %q: give an origin as the browser sends it, scheme://host[:port] without a path, e.g. http://localhost:8233", origin)
		}
	}
	token, err := o.token()
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", o.Listen, err)
	}
	srv := &http.Server{
		Handler: codecserver.New(codecserver.Options{
			Codec: codec, AllowedOrigins: o.Origins, Token: token, Logger: logger,
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	auth := "no token"
	if token != "" {
		auth = "bearer token required"
	}
	origins := "none (no browser access)"
	if len(o.Origins) > 0 {
		origins = strings.Join(o.Origins, ", ")
	}
	ring := codec.Keyring()
	fmt.Fprintf(stdout, "Codec server on http://%s (keys %s, active %s; CORS origins: %s; %s).\n",
		ln.Addr(), strings.Join(ring.IDs(), ", "), ring.ActiveID(), origins, auth)
	fmt.Fprintf(stdout, "  temporal workflow show --workflow-id ID --codec-endpoint http://%s\n", ln.Addr())

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("codec server: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("stop codec server: %w", err)
	}
	return nil
}
