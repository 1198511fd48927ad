package copier

import (
	"fmt"
	"strconv"
	"strings"
)

// sizeSuffixes maps rclone-style unit suffixes to multipliers: binary for
// K/M/G/T with or without "i" and "B", so "8MiB", "64M" and "1G" all work.
var sizeSuffixes = []struct {
	suffix string
	mult   int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30}, {"tb", 1 << 40},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"t", 1 << 40},
	{"b", 1},
}

// ParseSize reads a byte count written in human units ("8MiB", "64M", "1G", "4096").
func ParseSize(s string) (int64, error) {
	text := strings.ToLower(strings.TrimSpace(s))
	if text == "" {
		return 0, fmt.Errorf("size is empty")
	}
	mult := int64(1)
	for _, u := range sizeSuffixes {
		if strings.HasSuffix(text, u.suffix) {
			text = strings.TrimSpace(strings.TrimSuffix(text, u.suffix))
			mult = u.mult
			break
		}
	}
	value, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: not a number with an optional unit like 8MiB", s)
	}
	if value <= 0 {
		return 0, fmt.Errorf("size %q: must be positive", s)
	}
	return int64(value * float64(mult)), nil
}
