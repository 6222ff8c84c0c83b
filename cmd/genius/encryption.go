package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/spf13/pflag"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"

	"github.com/genius-nas/genius/history"
	"github.com/genius-nas/genius/payloadcrypt"
)

// envEncryptionKeyFile names the key file when --encryption-key-file is not
// given.
const envEncryptionKeyFile = "GENIUS_ENCRYPTION_KEY_FILE"

const encryptionKeyFlag = "encryption-key-file"

// addEncryptionKeyFlag registers --encryption-key-file.
func addEncryptionKeyFlag(fs *pflag.FlagSet, p *string) {
	fs.StringVar(p, encryptionKeyFlag, envOr(envEncryptionKeyFile, ""),
		"key file that encrypts workflow payloads (AES-256-GCM; write one with: genius keygen --out FILE); every client and worker of a namespace needs the same keys (env "+envEncryptionKeyFile+")")
}

// loadCodec reads the key file; "" means no encryption (nil codec).
func loadCodec(path string) (*payloadcrypt.Codec, error) {
	if path == "" {
		return nil, nil
	}
	ring, err := payloadcrypt.LoadKeyring(path)
	if err != nil {
		return nil, fmt.Errorf("--%s (env %s): %w", encryptionKeyFlag, envEncryptionKeyFile, err)
	}
	return payloadcrypt.NewCodec(ring), nil
}

// setEncryption makes o encrypt payloads and failure messages with the keys
// of path, when path is set.
func setEncryption(o *client.Options, path string, logger *slog.Logger) error {
	codec, err := loadCodec(path)
	if err != nil || codec == nil {
		return err
	}
	dc := payloadcrypt.DataConverter(codec)
	o.DataConverter = dc
	o.FailureConverter = payloadcrypt.FailureConverter(dc)
	ring := codec.Keyring()
	logger.Info("encrypting workflow payloads", "key_file", path, "active_key_id", ring.ActiveID(), "keys", len(ring.IDs()))
	return nil
}

// decryptHistories decodes the payloads of histories in place with the keys
// of keyFile. Without keys, an encrypted history is an error that names its
// key IDs and the flag to pass.
func decryptHistories(ctx context.Context, keyFile string, runs ...*historypb.History) error {
	codec, err := loadCodec(keyFile)
	if err != nil {
		return err
	}
	for _, h := range runs {
		if codec == nil {
			ids, err := payloadcrypt.KeyIDs(ctx, h)
			if err != nil {
				return err
			}
			if len(ids) > 0 {
				return fmt.Errorf("the history of %s is encrypted with key ID %s: pass the key file that holds it with --%s FILE (env %s)",
					history.Describe(h).Name(), strings.Join(ids, ", "), encryptionKeyFlag, envEncryptionKeyFile)
			}
			continue
		}
		if err := history.Decode(ctx, h, codec); err != nil {
			var unknown *payloadcrypt.UnknownKeyError
			var bad *payloadcrypt.DecryptError
			switch {
			case errors.As(err, &unknown):
				return fmt.Errorf("%w: --%s %s lacks that key; pass the key file the workers used (or one with the old key kept after a rotation)", err, encryptionKeyFlag, keyFile)
			case errors.As(err, &bad):
				return fmt.Errorf("%w: --%s %s holds a different key under ID %s than the workers used", err, encryptionKeyFlag, keyFile, bad.KeyID)
			}
			return err
		}
	}
	return nil
}
