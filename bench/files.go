package bench

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Benchmark names, as specs and the command line give them.
const (
	NASBenchMacro         = "nas-bench-macro"
	ChannelBenchResNet    = "channel-bench-resnet"
	ChannelBenchMobileNet = "channel-bench-mobilenet"
	NASBench201           = "nas-bench-201"
)

// Dataset names. Only NAS-Bench-201 has more than CIFAR-10.
const (
	CIFAR10       = "cifar10"
	CIFAR100      = "cifar100"
	ImageNet16120 = "imagenet16-120"
)

// File is one table file: where it lives under the data directory, what it
// must hash to, and where it comes from.
type File struct {
	Benchmark string `json:"benchmark"`
	Dataset   string `json:"dataset"`
	// Path is relative to the data directory, with forward slashes.
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// Repo ("owner/name"), Commit and Source locate the file on GitHub.
	Repo   string `json:"repo"`
	Commit string `json:"commit"`
	Source string `json:"source"`
}

const (
	macroCommit   = "61a2bfc2ca0dce04d0997e6cf498047c27d6acf2"
	channelCommit = "4ff596e814cc88cc9add77ff83fc1a2f05ee1fef"
	geniusCommit  = "97361d30b2da337edd0c8e1ed71b7c88b4a85d38"
)

// Files lists the six table files (shared/data/bench/README.md).
func Files() []File {
	return []File{
		{NASBenchMacro, CIFAR10, "nas-bench-macro/nas-bench-macro_cifar10.json", 1178821,
			"686dee8363cc21cca8c1f321ad5749454f2d9b9ca5972682e137e539bc522297",
			"xiusu/NAS-Bench-Macro", macroCommit, "data/nas-bench-macro_cifar10.json"},
		{ChannelBenchResNet, CIFAR10, "channel-bench-macro/Results_ResNet.json", 2821965,
			"bf13bcaea3f2076f2c1bfbf5c2fee044aafe0385fae6a0d64c433b1d7f5a7520",
			"xiusu/Channel-Bench-Macro", channelCommit, "Results_ResNet.json"},
		{ChannelBenchMobileNet, CIFAR10, "channel-bench-macro/Results_MobileNet.json", 2793867,
			"f640474d8ff3ff2231d0c45986bb0f10af291545316342fb009952e7641908e0",
			"xiusu/Channel-Bench-Macro", channelCommit, "Results_MobileNet.json"},
		{NASBench201, CIFAR10, "nas-bench-201/nasbench201_cifar10.json", 2625770,
			"7c5d7d890a285deb41556f95e904fab854f8fcfd65da7eb39410fdedd87215ec",
			"mingkai-zheng/GENIUS", geniusCommit, "benchmark/nasbench201_cifar10.json"},
		{NASBench201, CIFAR100, "nas-bench-201/nasbench201_cifar100.json", 2722508,
			"6b21a0e98864e0aff288fc54bb5105907441bfd63bb063ad3d279edcbf926da5",
			"mingkai-zheng/GENIUS", geniusCommit, "benchmark/nasbench201_cifar100.json"},
		{NASBench201, ImageNet16120, "nas-bench-201/nasbench201_imagenet.json", 2738705,
			"a29f63ca37b72cfa9a8e4ce6bad5d678c6039c9929c8060b7d32187f537d560f",
			"mingkai-zheng/GENIUS", geniusCommit, "benchmark/nasbench201_imagenet.json"},
	}
}

// Benchmarks lists the benchmark names.
func Benchmarks() []string {
	return []string{NASBenchMacro, ChannelBenchResNet, ChannelBenchMobileNet, NASBench201}
}

// lookupFile finds the file of a benchmark and dataset ("" means cifar10).
func lookupFile(benchmark, dataset string) (File, error) {
	if dataset == "" {
		dataset = CIFAR10
	}
	dataset = strings.ToLower(dataset)
	known := false
	for _, f := range Files() {
		if f.Benchmark != benchmark {
			continue
		}
		known = true
		if f.Dataset == dataset {
			return f, nil
		}
	}
	if !known {
		return File{}, fmt.Errorf("unknown benchmark %q: use one of %s", benchmark, strings.Join(Benchmarks(), ", "))
	}
	if benchmark == NASBench201 {
		return File{}, fmt.Errorf("%s has no dataset %q: use cifar10, cifar100 or imagenet16-120", benchmark, dataset)
	}
	return File{}, fmt.Errorf("%s has only the cifar10 dataset, not %q: leave the dataset empty", benchmark, dataset)
}

// FileError says that a table file is missing or is not the expected one,
// and how to get it.
type FileError struct {
	File File
	// Path is the file's location on disk.
	Path string
	// Missing is true when there is no file at Path.
	Missing bool
	// Problem says what is wrong when the file exists (size or hash).
	Problem string
	// Dir is the data directory, for the suggested command.
	Dir string
}

func (e *FileError) Error() string {
	what := "is missing"
	if !e.Missing {
		what = "is not the expected file: " + e.Problem
	}
	return fmt.Sprintf("%s table %s %s (expected sha256 %s, %d bytes): run `genius data fetch --data-dir %s`",
		e.File.Benchmark, e.Path, what, e.File.SHA256, e.File.Size, e.Dir)
}

// readChecked reads f from dir and checks its size and hash.
func readChecked(dir string, f File) ([]byte, error) {
	p := filepath.Join(dir, filepath.FromSlash(f.Path))
	b, err := os.ReadFile(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &FileError{File: f, Path: p, Missing: true, Dir: dir}
		}
		return nil, fmt.Errorf("read %s table: %w", f.Benchmark, err)
	}
	sum := sha256.Sum256(b)
	if err := f.match(dir, p, int64(len(b)), sum[:]); err != nil {
		return nil, err
	}
	return b, nil
}

// match compares a file's size and sha256 with f's; the error is a
// *FileError naming the first that differs.
func (f File) match(dir, p string, size int64, sum []byte) error {
	if size != f.Size {
		return &FileError{File: f, Path: p, Dir: dir, Problem: fmt.Sprintf("size %d bytes", size)}
	}
	if got := hex.EncodeToString(sum); got != f.SHA256 {
		return &FileError{File: f, Path: p, Dir: dir, Problem: "sha256 " + got}
	}
	return nil
}

// Check reports whether f is present and intact in dir, hashing it as a
// stream; the error is a *FileError when it is missing or differs.
func (f File) Check(dir string) error {
	p := filepath.Join(dir, filepath.FromSlash(f.Path))
	fh, err := os.Open(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return &FileError{File: f, Path: p, Missing: true, Dir: dir}
		}
		return fmt.Errorf("check %s table: %w", f.Benchmark, err)
	}
	defer fh.Close()
	h := sha256.New()
	n, err := io.Copy(h, fh)
	if err != nil {
		return fmt.Errorf("check %s table %s: %w", f.Benchmark, p, err)
	}
	return f.match(dir, p, n, h.Sum(nil))
}

// Verify checks every table file in dir and joins the errors of those that
// are missing or differ.
func Verify(dir string) error {
	var errs []error
	for _, f := range Files() {
		if err := f.Check(dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
