// Package payloadcrypt encrypts Temporal payloads with AES-256-GCM so that
// workflow histories hold no prompts, replies or results in clear text.
//
// Keys come from a key file (a mounted Kubernetes Secret is a file too):
//
//	# comment lines and blank lines are ignored
//	<key-id> <base64 of 32 random bytes>
//	<key-id> <base64 of 32 random bytes>
//
// Key IDs are 1 to 64 characters from A-Z a-z 0-9 . _ -, unique within the
// file. The last key is the active one: it encrypts every new payload.
// Every key in the file decrypts, so keys rotate by appending a new line
// (genius keygen --add) and dropping old lines only once no history that
// anyone still reads uses them.
//
// An encrypted payload has metadata encoding "binary/encrypted" and
// "encryption-key-id" naming its key; its data is a 12-byte nonce followed
// by the sealed original payload (its metadata and data), with the key ID
// as additional authenticated data. Payloads without that encoding pass
// through Decode unchanged, so histories recorded before encryption was
// turned on stay readable.
//
// Key material never appears in errors, logs or the output of fmt.
package payloadcrypt
