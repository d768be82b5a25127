package sfu

import (
	"slices"
	"testing"
)

func TestLayerForTile(t *testing.T) {
	learned := [3]layerState{{width: 320, height: 180}, {width: 640, height: 360}, {width: 1280, height: 720}}
	unknown := [3]layerState{}
	onlyHalf := [3]layerState{{}, {width: 480, height: 270}, {}} // f is assumed 960×540
	cases := []struct {
		layers        [3]layerState
		width, height int
		want          int
	}{
		{learned, 320, 180, 0},
		{learned, 321, 180, 1},
		{learned, 300, 300, 1},
		{learned, 1280, 720, 2},
		{learned, 1920, 1080, 2}, // nothing covers it: the largest
		{unknown, 640, 360, 1},   // 1280×720 assumed
		{unknown, 700, 360, 2},
		{onlyHalf, 240, 135, 0},
		{onlyHalf, 600, 300, 2},
	}
	for _, c := range cases {
		if got := layerForTile(c.layers, c.width, c.height); got != c.want {
			t.Errorf("layerForTile(%v, %d×%d) = %d, want %d", c.layers, c.width, c.height, got, c.want)
		}
	}
}

func TestChooseLayers(t *testing.T) {
	camera := [3]layerState{
		{active: true, bitrate: 150_000},
		{active: true, bitrate: 500_000},
		{active: true, bitrate: 1_500_000},
	}
	full := layerRequest{layers: camera, want: 2, current: noLayer}
	cases := []struct {
		name     string
		requests []layerRequest
		estimate float64
		want     []int
	}{
		{"plenty", []layerRequest{full}, 5_000_000, []int{2}},
		{"bandwidth for h only", []layerRequest{full}, 1_000_000, []int{1}},
		{"too little even for q", []layerRequest{full}, 50_000, []int{0}},
		{"tile needs q", []layerRequest{{layers: camera, want: 0, current: noLayer}}, 5_000_000, []int{0}},
		{"shared fairly", []layerRequest{full, full}, 1_400_000, []int{1, 1}},
		{"one more upgrade fits", []layerRequest{full, full}, 2_800_000, []int{2, 1}},
		{
			"wanted layer not sent: the one below",
			[]layerRequest{{layers: [3]layerState{camera[0], camera[1], {}}, want: 2, current: noLayer}},
			5_000_000, []int{1},
		},
		{
			"nothing below sent: the one above",
			[]layerRequest{{layers: [3]layerState{{}, camera[1], camera[2]}, want: 0, current: noLayer}},
			5_000_000, []int{1},
		},
		{"nothing sent yet: what it wants", []layerRequest{{want: 1, current: noLayer}}, 5_000_000, []int{1}},
		// 1.6 Mb/s fits f (1.5) only without headroom: kept if sent, not upgraded to.
		{"keeps the layer it sends", []layerRequest{{layers: camera, want: 2, current: 2}}, 1_600_000, []int{2}},
		{"does not upgrade into the headroom", []layerRequest{full}, 1_600_000, []int{1}},
	}
	for _, c := range cases {
		if got := chooseLayers(c.requests, c.estimate); !slices.Equal(got, c.want) {
			t.Errorf("%s: chooseLayers = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestLayerNames(t *testing.T) {
	for i, name := range []string{"q", "h", "f"} {
		if index, ok := layerIndex(name); !ok || index != i || layerName(i) != name {
			t.Errorf("layer %d: index %d %v, name %q", i, index, ok, layerName(i))
		}
	}
	if _, ok := layerIndex("x"); ok || layerName(noLayer) != "" {
		t.Error("unknown layers are not refused")
	}
}
