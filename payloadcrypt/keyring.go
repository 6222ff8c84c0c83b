package payloadcrypt

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"
)

// KeySize is the length of an AES-256 key in bytes.
const KeySize = 32

// KeyIDRule says in words what keyIDPattern accepts. Key IDs are short:
// they travel in every payload's metadata.
const KeyIDRule = "a key ID is 1 to 64 characters from A-Z a-z 0-9 . _ -"

var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// ValidKeyID reports whether id can name a key.
func ValidKeyID(id string) bool { return keyIDPattern.MatchString(id) }

// key is one named AES-256 key with its GCM cipher.
type key struct {
	id   string
	aead cipher.AEAD
}

// Keyring holds the keys of a key file; the last one is active. Its String
// and GoString name the key IDs only.
type Keyring struct {
	keys []key
}

// String lists the key IDs, active last; never key material.
func (r *Keyring) String() string {
	return fmt.Sprintf("keyring[%s] (active %s)", strings.Join(r.IDs(), ", "), r.ActiveID())
}

// GoString is String, so %#v prints no key material either.
func (r *Keyring) GoString() string { return r.String() }

// ActiveID is the ID of the key that encrypts.
func (r *Keyring) ActiveID() string {
	if len(r.keys) == 0 {
		return ""
	}
	return r.keys[len(r.keys)-1].id
}

// IDs lists the key IDs in file order (the active one last).
func (r *Keyring) IDs() []string {
	ids := make([]string, len(r.keys))
	for i, k := range r.keys {
		ids[i] = k.id
	}
	return ids
}

// Has reports whether the ring holds a key with this ID.
func (r *Keyring) Has(id string) bool { return r.find(id) != nil }

func (r *Keyring) find(id string) cipher.AEAD {
	for _, k := range r.keys {
		if k.id == id {
			return k.aead
		}
	}
	return nil
}

func (r *Keyring) active() key { return r.keys[len(r.keys)-1] }

// LoadKeyring reads a key file. Errors name the file and line, never the
// key material.
func LoadKeyring(path string) (*Keyring, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	r, err := ParseKeyring(data)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return r, nil
}

// ParseKeyring reads the key file format (see the package documentation).
func ParseKeyring(data []byte) (*Keyring, error) {
	r := &Keyring{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 2 {
			return nil, fmt.Errorf("line %d: want \"<key-id> <base64 key>\", found %d fields", n, len(fields))
		}
		id := fields[0]
		if !ValidKeyID(id) {
			return nil, fmt.Errorf("line %d: bad key ID: %s", n, KeyIDRule)
		}
		if r.Has(id) {
			return nil, fmt.Errorf("line %d: key ID %s appears twice", n, id)
		}
		secret, err := base64.StdEncoding.DecodeString(fields[1])
		if err != nil {
			return nil, fmt.Errorf("line %d (key ID %s): key is not standard base64", n, id)
		}
		if len(secret) != KeySize {
			return nil, fmt.Errorf("line %d (key ID %s): key is %d bytes, want %d (AES-256)", n, id, len(secret), KeySize)
		}
		aead, err := newAEAD(secret)
		if err != nil {
			return nil, fmt.Errorf("line %d (key ID %s): %w", n, id, err)
		}
		r.keys = append(r.keys, key{id: id, aead: aead})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(r.keys) == 0 {
		return nil, errors.New("holds no key (write one with: genius keygen --out FILE)")
	}
	return r, nil
}

func newAEAD(secret []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(secret)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// NewKeyID names a key by its creation time and a random suffix, so keys
// made in the same second still differ: genius-20260102T150405Z-1a2b3c.
func NewKeyID(now time.Time, random io.Reader) (string, error) {
	var b [3]byte
	if _, err := io.ReadFull(random, b[:]); err != nil {
		return "", fmt.Errorf("random key ID: %w", err)
	}
	return "genius-" + now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:]), nil
}

// NewKeyLine makes a fresh key from random and returns its key-file line
// (with a trailing newline).
func NewKeyLine(id string, random io.Reader) (string, error) {
	if !ValidKeyID(id) {
		return "", fmt.Errorf("key ID %q: %s", id, KeyIDRule)
	}
	secret := make([]byte, KeySize)
	if _, err := io.ReadFull(random, secret); err != nil {
		return "", fmt.Errorf("random key: %w", err)
	}
	return id + " " + base64.StdEncoding.EncodeToString(secret) + "\n", nil
}

// FileHeader starts a new key file.
const FileHeader = `# genius payload encryption keys (AES-256-GCM), one per line:
#   <key-id> <base64 of 32 random bytes>
# The last key encrypts; every key decrypts. Keep this file secret.
`
