//go:build turbojpeg && !cgo

package data

// The turbojpeg tag links libjpeg-turbo through cgo: without cgo the build
// stops here rather than quietly using the slower decoder.
var _ = TurbojpegTagNeedsCGO_ENABLED1

// DefaultJPEGDecoder is here only so that the error above comes alone.
func DefaultJPEGDecoder() JPEGDecoder { return StdJPEG{} }
