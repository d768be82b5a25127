package client

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// maxMetrics bounds the answer of GET /metrics that is read.
const maxMetrics = 1 << 20

// Metrics reads the server's GET /metrics (Prometheus' text format),
// samples by name. The server answers this machine, or an administrator.
func (c *Client) Metrics(ctx context.Context) (map[string]float64, error) {
	resp, err := c.Raw(ctx, http.MethodGet, "/metrics", nil, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, readError(resp)
	}
	return ParseMetrics(io.LimitReader(resp.Body, maxMetrics))
}

// ParseMetrics reads samples without labels from Prometheus' text format;
// comments are skipped, and a sample with labels is keyed by its whole
// name with them.
func ParseMetrics(r io.Reader) (map[string]float64, error) {
	samples := map[string]float64{}
	scanner := bufio.NewScanner(r)
	for line := 1; scanner.Scan(); line++ {
		text := strings.TrimSpace(scanner.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		cut := strings.LastIndexByte(text, ' ')
		if cut <= 0 {
			return nil, fmt.Errorf("metrics line %d: no value in %q", line, text)
		}
		value, err := strconv.ParseFloat(text[cut+1:], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics line %d: %w", line, err)
		}
		samples[strings.TrimSpace(text[:cut])] = value
	}
	return samples, scanner.Err()
}
