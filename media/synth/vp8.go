package synth

import (
	"fmt"
	"sync/atomic"
	"time"
)

// This file is a minimal VP8 encoder (RFC 6386) for a picture made of flat
// 16x16 macroblocks. Flatness is what keeps it small: a macroblock is either
// predicted exactly from its neighbours, or corrected by one DC coefficient
// per block, so no DCT, motion search or rate control is needed.
//
// Frames are a keyframe every keyInterval (or on request) and inter frames in
// between. In an inter frame every macroblock is predicted from the last frame
// with a zero motion vector, and only the two that changed (where the marker
// was and where it is now) carry residual; the rest are skipped. The loop
// filter is off, so what the decoder shows is exactly prediction plus
// residual, which this encoder tracks one colour per macroblock.

// keyInterval is how often a keyframe comes unasked, so that a receiver that
// joins late or loses a packet recovers even without asking (PLI).
const keyInterval = 2 * time.Second

// maxDimension bounds the picture size, which keeps the first partition far
// below its 19-bit size limit (section 9.1).
const maxDimension = 4096

// Quantizer indices (section 9.6), chosen so that a DC-only residual paints
// exact colours:
//   - U and V use dc_qlookup[baseQIndex] = 8 and a DC-only inverse DCT adds
//     (8*level+4)>>3 = level to each pixel (section 14.4), so a chroma level
//     is simply the change of value;
//   - Y2 uses 2*dc_qlookup[baseQIndex+y2DCDelta] = y2DCFactor (section 14.1),
//     which makes every change of luma reachable (see lumaDelta).
const (
	baseQIndex = 4
	y2DCDelta  = 15
	y2DCFactor = 2 * 20
)

// Token probability planes (section 13.3).
const (
	planeY  = 0 // luma blocks whose DC is carried by Y2
	planeY2 = 1
	planeUV = 2
)

// Whole-macroblock intra prediction modes (sections 11.2, 11.4, 12.2, 12.3).
// B_PRED and TM_PRED are never needed.
const (
	predDC = iota
	predV
	predH
)

// Inter frame probabilities (section 9.10): every macroblock is inter-coded
// from the last frame.
const (
	probIntra = 1   // probability of an intra macroblock
	probLast  = 255 // probability that an inter macroblock uses the last frame
	probGF    = 128 // golden versus altref: never coded
)

// yuv is one flat macroblock colour: ITU-R BT.601 limited-range luma and
// chroma, as VP8's colour space 0 means (section 9.2).
type yuv struct{ y, u, v uint8 }

// bars are the eight 75% colour bars, painted as vertical bands and rotated by
// one band every keyInterval.
var bars = [...]yuv{
	{180, 128, 128}, // white
	{162, 44, 142},  // yellow
	{131, 156, 44},  // cyan
	{112, 72, 58},   // green
	{84, 184, 198},  // magenta
	{65, 100, 212},  // red
	{35, 212, 114},  // blue
	{16, 128, 128},  // black
}

// marker is the colour of the macroblock that moves one step every frame.
var marker = yuv{235, 128, 128}

// Video makes VP8 frames of a test picture: eight vertical colour bars
// that rotate by one bar at each scheduled keyframe (every 2 s), and a white
// 16x16 marker that steps through the macroblocks in raster order, one per
// frame, so its position is the frame number modulo the number of
// macroblocks.
//
// Next must not be called concurrently; RequestKeyframe may be called from
// any goroutine.
type Video struct {
	width, height  int
	mbCols, mbRows int
	frameDuration  time.Duration
	keyEvery       uint64 // frames from one scheduled keyframe to the next
	next           uint64 // number of the frame Next makes next
	keyRequested   atomic.Bool

	// ref is what the decoder shows after the previous frame and cur the
	// picture being coded, one colour per macroblock in raster order.
	ref, cur []yuv
	bar      []uint8 // the bar of each macroblock column before rotation
	codes    []mbCode
	above    []nzFlags // token contexts along the bottom of the row above
	modes    boolEncoder
	tokens   boolEncoder
}

// NewVideo returns a source of width x height frames at fps frames per
// second. Any size from 1x1 to 4096x4096 works: VP8 codes whole macroblocks
// and the decoder crops them to the size in the frame header. It panics on
// sizes or rates outside those bounds, which are programming errors.
func NewVideo(width, height int, fps int) *Video {
	if width < 1 || width > maxDimension || height < 1 || height > maxDimension || fps < 1 {
		panic(fmt.Sprintf("synth: unsupported video %dx%d at %d fps", width, height, fps))
	}
	cols, rows := (width+15)/16, (height+15)/16
	bar := make([]uint8, cols)
	for mbx := range bar {
		bar[mbx] = uint8(mbx * len(bars) / cols)
	}
	return &Video{
		width:         width,
		height:        height,
		mbCols:        cols,
		mbRows:        rows,
		frameDuration: time.Second / time.Duration(fps),
		keyEvery:      uint64(fps) * uint64(keyInterval/time.Second),
		ref:           make([]yuv, cols*rows),
		cur:           make([]yuv, cols*rows),
		bar:           bar,
		codes:         make([]mbCode, cols*rows),
		above:         make([]nzFlags, cols),
	}
}

// RequestKeyframe makes the next frame a keyframe, as a receiver's picture
// loss indication (PLI) asks.
func (v *Video) RequestKeyframe() {
	v.keyRequested.Store(true)
}

// Next returns the next frame: one complete VP8 frame, the payload of a
// media.Sample, whether it is a keyframe, and how long it is shown.
func (v *Video) Next() (frame []byte, keyframe bool, duration time.Duration) {
	n := v.next
	v.next++
	keyframe = v.keyRequested.Swap(false) || n%v.keyEvery == 0
	v.paint(n, v.cur)
	frame = v.encode(keyframe)
	v.ref, v.cur = v.cur, v.ref
	return frame, keyframe, v.frameDuration
}

// paint draws frame n of the picture into pic, one colour per macroblock.
func (v *Video) paint(n uint64, pic []yuv) {
	rotation := int(n / v.keyEvery % uint64(len(bars)))
	for mby := range v.mbRows {
		row := pic[mby*v.mbCols : (mby+1)*v.mbCols]
		for mbx, b := range v.bar {
			row[mbx] = bars[(int(b)+rotation)%len(bars)]
		}
	}
	pic[n%uint64(len(pic))] = marker
}

// mbCode is how one macroblock is coded.
type mbCode struct {
	yMode, uvMode uint8 // intra prediction modes, in keyframes
	y, u, v       int16 // DC levels of the Y2 block and of every U and V block
	skip          bool  // all levels are 0 (mb_skip_coeff)
}

// encode codes v.cur as one frame, predicted from v.ref unless key.
func (v *Video) encode(key bool) []byte {
	coded := 0
	for i := range v.codes {
		switch {
		case key:
			v.codes[i] = v.intraCode(i)
		case v.cur[i] == v.ref[i]:
			v.codes[i] = mbCode{skip: true}
		default:
			v.codes[i] = residual(v.cur[i], v.ref[i])
		}
		if !v.codes[i].skip {
			coded++
		}
	}
	first := v.writeModes(key, skipProb(coded, len(v.codes)))
	tokens := v.writeTokens()

	// The uncompressed data chunk (section 9.1): a 3-byte frame tag holding
	// frame type (0 = key), version 0, show_frame and the first partition's
	// size; then, in keyframes, the start code and the size in pixels with
	// no upscaling.
	size := 3 + len(first) + len(tokens)
	if key {
		size += 7
	}
	frame := make([]byte, 0, size)
	tag := uint32(len(first))<<5 | 1<<4
	if !key {
		tag |= 1
	}
	frame = append(frame, byte(tag), byte(tag>>8), byte(tag>>16))
	if key {
		frame = append(frame, 0x9d, 0x01, 0x2a,
			byte(v.width), byte(v.width>>8), byte(v.height), byte(v.height>>8))
	}
	frame = append(frame, first...)
	return append(frame, tokens...)
}

// intraCode chooses how keyframe macroblock i is coded: for luma and for
// chroma, the cheapest mode that predicts its colour exactly from the
// macroblocks above and left, or else DC_PRED and a residual.
func (v *Video) intraCode(i int) mbCode {
	var above, left *yuv // nil outside the frame
	if i >= v.mbCols {
		above = &v.cur[i-v.mbCols]
	}
	if i%v.mbCols > 0 {
		left = &v.cur[i-1]
	}
	t := v.cur[i]
	// Try the modes in order of cost (section 11.2 and 11.4 probabilities).
	modes := [...]uint8{predDC, predV, predH}
	yMode, uvMode := uint8(predDC), uint8(predDC)
	for _, m := range modes {
		if predict(m, above, left).y == t.y {
			yMode = m
			break
		}
	}
	for _, m := range modes {
		if p := predict(m, above, left); p.u == t.u && p.v == t.v {
			uvMode = m
			break
		}
	}
	py, puv := predict(yMode, above, left), predict(uvMode, above, left)
	c := residual(t, yuv{py.y, puv.u, puv.v})
	c.yMode, c.uvMode = yMode, uvMode
	return c
}

// predict is what an intra mode predicts for a macroblock whose neighbours
// above and left (nil outside the frame) are flat; the prediction is flat
// too. Outside the frame V_PRED sees 127 and H_PRED 129 (section 12.2), and
// DC_PRED averages the edges that exist, or is 128 with none (section 12.3:
// for luma (16*above+16*left+16)>>5, for chroma (8*above+8*left+8)>>4, which
// are the same for flat edges).
func predict(mode uint8, above, left *yuv) yuv {
	switch mode {
	case predV:
		if above == nil {
			return yuv{127, 127, 127}
		}
		return *above
	case predH:
		if left == nil {
			return yuv{129, 129, 129}
		}
		return *left
	}
	switch {
	case above != nil && left != nil:
		avg := func(a, b uint8) uint8 { return uint8((int(a) + int(b) + 1) >> 1) }
		return yuv{avg(above.y, left.y), avg(above.u, left.u), avg(above.v, left.v)}
	case above != nil:
		return *above
	case left != nil:
		return *left
	}
	return yuv{128, 128, 128}
}

// residual returns the DC levels that turn the flat prediction pred into
// target exactly.
func residual(target, pred yuv) mbCode {
	return mbCode{
		y:    lumaLevels[int(target.y)-int(pred.y)+255],
		u:    int16(target.u) - int16(pred.u),
		v:    int16(target.v) - int16(pred.v),
		skip: target == pred,
	}
}

// lumaDelta is how much a Y2 DC level changes every luma pixel of a
// macroblock: the inverse WHT gives each of the 16 luma blocks the DC
// (y2DCFactor*level+3)>>3 (section 14.3), and a DC-only inverse DCT adds
// (dc+4)>>3 to its pixels (section 14.4). That is (5*level+4)>>3, which grows
// by at most 1 per level, so every change is reachable.
func lumaDelta(level int) int {
	return ((level*y2DCFactor+3)>>3 + 4) >> 3
}

// lumaLevels[d+255] is a Y2 DC level whose lumaDelta is d.
var lumaLevels = func() (t [511]int16) {
	for d := -255; d <= 255; d++ {
		l := d * 64 / y2DCFactor
		for lumaDelta(l) < d {
			l++
		}
		for lumaDelta(l) > d {
			l--
		}
		t[d+255] = int16(l)
	}
	return t
}()

// skipProb is prob_skip_false (sections 9.10, 9.11) for a frame in which coded of
// total macroblocks carry a residual: the probability, out of 256, that a
// macroblock's mb_skip_coeff is 0.
func skipProb(coded, total int) uint8 {
	return uint8(max(1, min(coded*256/total, 255)))
}

// writeModes codes the first partition: the frame header (section 19.2) and
// every macroblock's header (section 19.3).
func (v *Video) writeModes(key bool, probSkip uint8) []byte {
	e := &v.modes
	e.reset(e.out)
	if key {
		e.putFlag(false) // color_space: YUV, BT.601 (section 9.2)
		e.putFlag(false) // clamping_type: the decoder clamps pixel values
	}
	e.putFlag(false)   // segmentation_enabled (section 9.3)
	e.putFlag(false)   // filter_type: normal (section 9.4)
	e.putLiteral(0, 6) // loop_filter_level: 0, no loop filter
	e.putLiteral(0, 3) // sharpness_level
	e.putFlag(false)   // loop_filter_adj_enable
	e.putLiteral(0, 2) // log2_nbr_of_dct_partitions: one (section 9.5)
	e.putLiteral(baseQIndex, 7)
	e.putQuantDelta(0) // y_dc_delta
	e.putQuantDelta(y2DCDelta)
	e.putQuantDelta(0) // y2_ac_delta
	e.putQuantDelta(0) // uv_dc_delta
	e.putQuantDelta(0) // uv_ac_delta
	if !key {
		e.putFlag(false)   // refresh_golden_frame (section 9.7)
		e.putFlag(false)   // refresh_alternate_frame
		e.putLiteral(0, 2) // copy_buffer_to_golden: no copy
		e.putLiteral(0, 2) // copy_buffer_to_alternate: no copy
		e.putFlag(false)   // sign_bias_golden
		e.putFlag(false)   // sign_bias_alternate
	}
	e.putFlag(true) // refresh_entropy_probs: nothing changes them anyway
	if !key {
		e.putFlag(true) // refresh_last: the next frame predicts from this one (section 9.8)
	}
	// token_prob_update (sections 9.9, 13.4): keep every default.
	for i := range coeffUpdateProbs {
		for j := range coeffUpdateProbs[i] {
			for k := range coeffUpdateProbs[i][j] {
				for _, p := range coeffUpdateProbs[i][j][k] {
					e.putBool(p, false)
				}
			}
		}
	}
	e.putFlag(true) // mb_no_coeff_skip: macroblocks say whether they have residual
	e.putLiteral(uint32(probSkip), 8)
	if !key {
		e.putLiteral(probIntra, 8)
		e.putLiteral(probLast, 8)
		e.putLiteral(probGF, 8)
		e.putFlag(false)               // intra_16x16_prob_update_flag
		e.putFlag(false)               // intra_chroma_prob_update_flag
		for i := range mvUpdateProbs { // mv_prob_update (section 17.2): none
			for _, p := range mvUpdateProbs[i] {
				e.putBool(p, false)
			}
		}
	}

	for mby := range v.mbRows {
		for mbx := range v.mbCols {
			c := &v.codes[mby*v.mbCols+mbx]
			e.putBool(probSkip, c.skip) // mb_skip_coeff (section 11.1)
			if key {
				putKeyframeModes(e, c)
				continue
			}
			e.putBool(probIntra, true) // is_inter_mb
			e.putBool(probLast, false) // mb_ref_frame_sel1: the last frame
			// mv_ref_tree's first branch: ZEROMV.
			e.putBool(zeroMVProbs[zeroMVVotes(mbx, mby)], false)
		}
	}
	return e.flush()
}

// putKeyframeModes codes a keyframe macroblock's luma mode with kf_ymode_tree
// and its fixed probabilities (section 11.2), then its chroma mode with
// uv_mode_tree and kf_uv_mode_probs (section 11.4).
func putKeyframeModes(e *boolEncoder, c *mbCode) {
	e.putBool(145, true) // not B_PRED
	switch c.yMode {
	case predDC:
		e.putBool(156, false)
		e.putBool(163, false)
	case predV:
		e.putBool(156, false)
		e.putBool(163, true)
	case predH:
		e.putBool(156, true)
		e.putBool(128, false)
	}
	switch c.uvMode {
	case predDC:
		e.putBool(142, false)
	case predV:
		e.putBool(142, true)
		e.putBool(114, false)
	case predH:
		e.putBool(142, true)
		e.putBool(114, true)
		e.putBool(183, false)
	}
}

// zeroMVVotes is the index into zeroMVProbs for macroblock (mbx, mby) of an
// inter frame (section 16.3). Its neighbours inside the frame are all
// inter-coded with a zero motion vector; those outside count as intra, which
// do not vote.
func zeroMVVotes(mbx, mby int) int {
	switch {
	case mbx > 0 && mby > 0:
		return 5
	case mbx > 0 || mby > 0:
		return 2
	}
	return 0
}

// nzFlags records, for the blocks along one edge of a macroblock, whether
// each has a non-zero coefficient: the context for coding the first token of
// the blocks across that edge (section 13.3). Luma blocks never have one
// here, so only Y2 and the two U and two V blocks along the edge are tracked.
type nzFlags struct {
	y2   uint8
	u, v [2]uint8
}

// writeTokens codes the token partition: the residual of every macroblock
// that has one, in raster order (section 13).
func (v *Video) writeTokens() []byte {
	e := &v.tokens
	e.reset(e.out)
	clear(v.above)
	for mby := range v.mbRows {
		var left nzFlags
		for mbx := range v.mbCols {
			c := &v.codes[mby*v.mbCols+mbx]
			above := &v.above[mbx]
			if c.skip {
				// A skipped macroblock counts as all zeros (section 13.1).
				*above, left = nzFlags{}, nzFlags{}
				continue
			}
			nz := putDCBlock(e, &coeffProbs[planeY2], above.y2+left.y2, int(c.y))
			above.y2, left.y2 = nz, nz
			// Each luma block's DC is in Y2 and it has nothing else, so
			// it is just an end of block at position 1; its context is 0
			// since no luma block has a non-zero coefficient.
			for range 16 {
				e.putBool(coeffProbs[planeY][1][0][0], false)
			}
			putChroma(e, int(c.u), &above.u, &left.u)
			putChroma(e, int(c.v), &above.v, &left.v)
		}
	}
	return e.flush()
}

// putChroma codes the four 4x4 blocks of one chroma plane of a macroblock in
// raster order, each with the DC level.
func putChroma(e *boolEncoder, level int, above, left *[2]uint8) {
	for i := range 4 {
		a, l := &above[i&1], &left[i>>1]
		nz := putDCBlock(e, &coeffProbs[planeUV], *a+*l, level)
		*a, *l = nz, nz
	}
}

// putDCBlock codes the tokens of a 4x4 block whose only coefficient is its
// DC, level (sections 13.2, 13.3); ctx is how many of the blocks above and
// left have a non-zero coefficient. It returns 1 if this block has one.
func putDCBlock(e *boolEncoder, probs *[2][3][11]uint8, ctx uint8, level int) uint8 {
	p := &probs[0][ctx] // position 0 is band 0
	if level == 0 {
		e.putBool(p[0], false) // dct_eob
		return 0
	}
	e.putBool(p[0], true) // not dct_eob
	e.putBool(p[1], true) // not DCT_0
	mag := level
	if level < 0 {
		mag = -level
	}
	putMagnitude(e, p, mag)
	e.putFlag(level < 0)
	// After a 1 the next token's context is 1, after more it is 2; position 1
	// is band 1.
	next := 2
	if mag == 1 {
		next = 1
	}
	e.putBool(probs[1][next][0], false) // dct_eob
	return 1
}

// putMagnitude codes a non-zero coefficient's magnitude as a token of
// coeff_tree below its DCT_0 branch, with the extra bits of DCT_CAT1..6
// (section 13.2).
func putMagnitude(e *boolEncoder, p *[11]uint8, mag int) {
	e.putBool(p[2], mag > 1)
	switch {
	case mag == 1:
		return
	case mag <= 4:
		e.putBool(p[3], false)
		e.putBool(p[4], mag > 2)
		if mag > 2 {
			e.putBool(p[5], mag == 4)
		}
		return
	}
	e.putBool(p[3], true)
	var cat int
	switch {
	case mag <= 6:
		cat = 0
		e.putBool(p[6], false)
		e.putBool(p[7], false)
	case mag <= 10:
		cat = 1
		e.putBool(p[6], false)
		e.putBool(p[7], true)
	case mag <= 18:
		cat = 2
		e.putBool(p[6], true)
		e.putBool(p[8], false)
		e.putBool(p[9], false)
	case mag <= 34:
		cat = 3
		e.putBool(p[6], true)
		e.putBool(p[8], false)
		e.putBool(p[9], true)
	case mag <= 66:
		cat = 4
		e.putBool(p[6], true)
		e.putBool(p[8], true)
		e.putBool(p[10], false)
	default:
		cat = 5
		e.putBool(p[6], true)
		e.putBool(p[8], true)
		e.putBool(p[10], true)
	}
	extra, probs := mag-dctExtra[cat].base, dctExtra[cat].probs
	for i, prob := range probs {
		e.putBool(prob, extra>>(len(probs)-1-i)&1 == 1)
	}
}
