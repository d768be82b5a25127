package sfu

// Simulcast layers, smallest first, as the protocol names them.
var layerNames = [...]string{"q", "h", "f"}

const (
	defaultLayer = 1 // "h": what a subscriber gets before it reports a tile
	// upgradeHeadroom is the share of the estimated bandwidth that layer
	// upgrades may fill. Keeping the layer already sent may use all of it,
	// so that an estimate hovering near a layer's bitrate does not flap.
	upgradeHeadroom = 0.85
	// assumedFullWidth and assumedFullHeight are the size of layer f when
	// the stream has not told it (H.264 is not parsed for its size).
	assumedFullWidth  = 1280
	assumedFullHeight = 720
)

// layerIndex maps a rid to its layer; ok is false for a rid the protocol
// does not define.
func layerIndex(rid string) (int, bool) {
	for i, name := range layerNames {
		if name == rid {
			return i, true
		}
	}
	return noLayer, false
}

// layerName is the rid of a layer index, "" for noLayer.
func layerName(layer int) string {
	if layer < 0 || layer >= len(layerNames) {
		return ""
	}
	return layerNames[layer]
}

// layerState is what the allocator knows about one simulcast layer.
type layerState struct {
	active        bool    // packets arrive
	bitrate       float64 // bits per second
	width, height int     // learned from keyframes; 0 when unknown
}

// layerForTile returns the smallest layer whose picture covers a tile of
// width×height. Sizes not learned from the stream are assumed: each layer
// is half the width and height of the next, and f is the largest size seen
// scaled up accordingly, or 1280×720 when none has been seen.
func layerForTile(layers [len(layerNames)]layerState, width, height int) int {
	fullWidth, fullHeight := assumedFullWidth, assumedFullHeight
	for i := len(layers) - 1; i >= 0; i-- {
		if layers[i].width > 0 && layers[i].height > 0 {
			scale := 1 << (len(layers) - 1 - i)
			fullWidth, fullHeight = layers[i].width*scale, layers[i].height*scale
			break
		}
	}
	for i, layer := range layers {
		w, h := layer.width, layer.height
		if w == 0 || h == 0 {
			scale := 1 << (len(layers) - 1 - i)
			w, h = fullWidth/scale, fullHeight/scale
		}
		if w >= width && h >= height {
			return i
		}
	}
	return len(layers) - 1
}

// layerRequest is one simulcast down track asking for a layer.
type layerRequest struct {
	layers  [len(layerNames)]layerState
	want    int // the layer the tile needs
	current int // the layer being forwarded now, or noLayer
}

// ceiling is the best layer the request can get: the wanted one if it is
// being sent, else the nearest one below, else the nearest one above.
func (r *layerRequest) ceiling() int {
	for i := r.want; i >= 0; i-- {
		if r.layers[i].active {
			return i
		}
	}
	for i := r.want + 1; i < len(r.layers); i++ {
		if r.layers[i].active {
			return i
		}
	}
	return noLayer
}

// chooseLayers shares an estimated bandwidth between simulcast down tracks.
// Every track gets at least its lowest active layer; then, round by round,
// each track moves one layer up towards its ceiling while the total fits,
// so that the bandwidth is shared fairly rather than spent on the first
// track. A track whose publisher sends no layer yet gets the layer it
// wants, to begin with as soon as that layer arrives.
func chooseLayers(requests []layerRequest, estimate float64) []int {
	chosen := make([]int, len(requests))
	ceilings := make([]int, len(requests))
	spent := 0.0
	for i := range requests {
		ceilings[i] = requests[i].ceiling()
		if ceilings[i] == noLayer {
			chosen[i] = requests[i].want
			continue
		}
		chosen[i] = ceilings[i]
		for layer := range ceilings[i] {
			if requests[i].layers[layer].active {
				chosen[i] = layer
				break
			}
		}
		spent += requests[i].layers[chosen[i]].bitrate
	}
	for upgraded := true; upgraded; {
		upgraded = false
		for i := range requests {
			if ceilings[i] == noLayer || chosen[i] >= ceilings[i] {
				continue
			}
			next := chosen[i] + 1
			for !requests[i].layers[next].active {
				next++
			}
			budget := estimate * upgradeHeadroom
			if next <= requests[i].current {
				budget = estimate
			}
			extra := requests[i].layers[next].bitrate - requests[i].layers[chosen[i]].bitrate
			if spent+extra <= budget {
				chosen[i] = next
				spent += extra
				upgraded = true
			}
		}
	}
	return chosen
}
