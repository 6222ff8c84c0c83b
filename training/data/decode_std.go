//go:build !turbojpeg

package data

// DefaultJPEGDecoder is the decoder ImageFolder uses unless told: the
// standard library's in this build (build with -tags turbojpeg for
// libjpeg-turbo).
func DefaultJPEGDecoder() JPEGDecoder { return StdJPEG{} }
