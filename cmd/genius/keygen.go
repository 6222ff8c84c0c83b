package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/genius-nas/genius/payloadcrypt"
)

// keygenOptions are the flags of genius keygen.
type keygenOptions struct {
	Out string
	Add bool
	ID  string
}

// AddFlags registers the options on fs.
func (o *keygenOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Out, "out", "", "key file to write (mode 0600), required")
	fs.BoolVar(&o.Add, "add", false, "add a new active key to the existing --out file, keeping the old keys so older histories still decrypt (key rotation)")
	fs.StringVar(&o.ID, "id", "", "key ID; default genius-<UTC time>-<random> ("+payloadcrypt.KeyIDRule+")")
}

func newKeygenCmd() *cobra.Command {
	var o keygenOptions
	cmd := &cobra.Command{
		Use:   "keygen --out FILE [--add]",
		Short: "Write a key file for encrypting workflow payloads (AES-256-GCM)",
		Long: `Write a new key file for --encryption-key-file / GENIUS_ENCRYPTION_KEY_FILE.
Workers and clients that use it encrypt every payload (prompts, replies,
results) before it reaches the Temporal server; the key ID travels with each
payload so any key in the file can decrypt it.

The file has one key per line, "<key-id> <base64 of 32 bytes>"; the last
line is the active key. --add appends a new active key to an existing file
for rotation: new payloads use it, older ones still decrypt with the keys
kept above it. Give the file to the workers, for example as a Kubernetes
Secret:
  kubectl create secret generic genius-encryption --from-file=keys=FILE
and restart the workers and the codec server to pick up a rotated file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runKeygen(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func runKeygen(_ context.Context, o keygenOptions, stdout, _ io.Writer) error {
	if o.Out == "" {
		return errors.New("--out is required: the key file to write, for example --out genius-keys")
	}
	id := o.ID
	if id == "" {
		var err error
		if id, err = payloadcrypt.NewKeyID(time.Now(), rand.Reader); err != nil {
			return err
		}
	} else if !payloadcrypt.ValidKeyID(id) {
		return fmt.Errorf("--id %q: %s", id, payloadcrypt.KeyIDRule)
	}
	line, err := payloadcrypt.NewKeyLine(id, rand.Reader)
	if err != nil {
		return err
	}
	var n int
	if o.Add {
		n, err = addKey(o.Out, id, line)
	} else {
		n, err = 1, createKeyFile(o.Out, line)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Wrote %s: %d key(s); active key ID %s.\n", o.Out, n, id)
	if o.Add {
		fmt.Fprintln(stdout, "Update the Secret (or file) of every worker, client and codec server, then restart them; keep the old keys until no history you read uses them.")
	} else {
		fmt.Fprintf(stdout, "Use it with --%s %s (env %s), or as a Kubernetes Secret:\n  kubectl create secret generic genius-encryption --from-file=keys=%s\n",
			encryptionKeyFlag, o.Out, envEncryptionKeyFile, o.Out)
	}
	return nil
}

// createKeyFile writes a new key file, refusing to replace one: a lost key
// makes its histories unreadable.
func createKeyFile(path, line string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("--out %s exists: --add adds a new active key to it (rotation); replacing it would make the histories it encrypted unreadable", path)
	}
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	if _, err := f.WriteString(payloadcrypt.FileHeader + line); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

// addKey appends line to the key file at path through a temporary file
// and a rename, so a failure leaves the old file whole. It returns the
// number of keys now in the file.
func addKey(path, id, line string) (int, error) {
	old, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("--add needs an existing --out file (create one without --add): %w", err)
	}
	ring, err := payloadcrypt.ParseKeyring(old)
	if err != nil {
		return 0, fmt.Errorf("--out %s: %w", path, err)
	}
	if ring.Has(id) {
		return 0, fmt.Errorf("--id %s: the key file already holds a key with that ID", id)
	}
	if len(old) > 0 && old[len(old)-1] != '\n' {
		old = append(old, '\n')
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".genius-keys-*")
	if err != nil {
		return 0, fmt.Errorf("--out: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename, there is nothing to remove
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return 0, err
	}
	_, err = tmp.Write(append(old, line...))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return 0, fmt.Errorf("replace %s: %w", path, err)
	}
	return len(ring.IDs()) + 1, nil
}
