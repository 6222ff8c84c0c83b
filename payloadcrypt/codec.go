package payloadcrypt

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

// Metadata of an encrypted payload.
const (
	// Encoding is the metadata "encoding" of an encrypted payload.
	Encoding = "binary/encrypted"
	// MetadataKeyID is the metadata entry naming the key that encrypted it.
	MetadataKeyID = "encryption-key-id"
)

// aadPrefix binds the key ID into the ciphertext, so a payload relabelled
// with another key ID fails to open.
const aadPrefix = "genius-payload-v1:"

const nonceSize = 12

// Codec is a converter.PayloadCodec that encrypts with the keyring's active
// key and decrypts with any of its keys.
type Codec struct {
	ring *Keyring
}

// NewCodec returns the codec of a keyring.
func NewCodec(ring *Keyring) *Codec { return &Codec{ring: ring} }

// Keyring is the codec's keyring.
func (c *Codec) Keyring() *Keyring { return c.ring }

// UnknownKeyError is a payload encrypted with a key the keyring lacks.
type UnknownKeyError struct {
	KeyID string
	Known []string
}

func (e *UnknownKeyError) Error() string {
	return fmt.Sprintf("payload is encrypted with key ID %s, which is not among the keys given (%s)", e.KeyID, strings.Join(e.Known, ", "))
}

// DecryptError is a payload that does not open with the key of its key ID:
// the key under that ID differs from the one that encrypted, or the
// payload was altered.
type DecryptError struct {
	KeyID string
}

func (e *DecryptError) Error() string {
	return fmt.Sprintf("payload encrypted with key ID %s does not decrypt: the key with that ID is not the one that encrypted it, or the payload was altered", e.KeyID)
}

// Encode encrypts each payload with the active key.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	k := c.ring.active()
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("encode payload: %w", err)
		}
		sealed := make([]byte, nonceSize, nonceSize+len(plain)+k.aead.Overhead())
		if _, err := rand.Read(sealed); err != nil {
			return nil, fmt.Errorf("encrypt payload: nonce: %w", err)
		}
		sealed = k.aead.Seal(sealed, sealed[:nonceSize], plain, []byte(aadPrefix+k.id))
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(Encoding),
				MetadataKeyID:              []byte(k.id),
			},
			Data: sealed,
		}
	}
	return out, nil
}

// Decode decrypts encrypted payloads; others pass through unchanged.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		id, ok := KeyID(p)
		if !ok {
			out[i] = p
			continue
		}
		aead := c.ring.find(id)
		if aead == nil {
			return nil, &UnknownKeyError{KeyID: id, Known: c.ring.IDs()}
		}
		data := p.GetData()
		if len(data) < nonceSize+aead.Overhead() {
			return nil, &DecryptError{KeyID: id}
		}
		plain, err := aead.Open(nil, data[:nonceSize], data[nonceSize:], []byte(aadPrefix+id))
		if err != nil {
			return nil, &DecryptError{KeyID: id}
		}
		var dp commonpb.Payload
		if err := proto.Unmarshal(plain, &dp); err != nil {
			return nil, fmt.Errorf("payload encrypted with key ID %s decrypts to no payload: %w", id, err)
		}
		out[i] = &dp
	}
	return out, nil
}

// KeyID returns the key ID of an encrypted payload; ok is false for a
// payload that is not encrypted. An encrypted payload without a key ID
// yields ok and "".
func KeyID(p *commonpb.Payload) (id string, ok bool) {
	if string(p.GetMetadata()[converter.MetadataEncoding]) != Encoding {
		return "", false
	}
	return string(p.GetMetadata()[MetadataKeyID]), true
}

// KeyIDs lists, sorted, the key IDs of the encrypted payloads anywhere in
// msg (a workflow history, an event); nil when none is encrypted.
func KeyIDs(ctx context.Context, msg proto.Message) ([]string, error) {
	seen := map[string]bool{}
	err := proxy.VisitPayloads(ctx, msg, proxy.VisitPayloadsOptions{
		Visitor: func(_ *proxy.VisitPayloadsContext, ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
			for _, p := range ps {
				if id, ok := KeyID(p); ok {
					seen[id] = true
				}
			}
			return ps, nil
		},
	})
	if err != nil {
		return nil, err
	}
	var ids []string
	for id := range seen {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, nil
}

// DataConverter is the SDK's default converter with payloads encrypted by c.
func DataConverter(c *Codec) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
}

// FailureConverter moves failure messages and stack traces into encrypted
// attributes, since an error can quote a prompt or a reply.
func FailureConverter(dc converter.DataConverter) converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter:          dc,
		EncodeCommonAttributes: true,
	})
}
