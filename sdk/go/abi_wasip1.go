//go:build wasip1

package zappy

import (
	"sync"
	"unsafe"

	"github.com/zappy-mon/zappy/sdk/go/internal/hostindex"
	"github.com/zappy-mon/zappy/sdk/go/zjson"
)

// Host imports of ABI v1 (sdk/ABI.md, "Imports").

//go:wasmimport zappy input
func hostInput(checkID int64, ptr unsafe.Pointer, capacity int32) int32

//go:wasmimport zappy op
func hostOp(checkID int64, op int32, reqPtr unsafe.Pointer, reqLen int32, dataPtr unsafe.Pointer, dataLen int32) int64

//go:wasmimport zappy take
func hostTake(token int64, jsonPtr unsafe.Pointer, jsonCap int32, dataPtr unsafe.Pointer, dataCap int32) int64

//go:wasmimport zappy done
func hostDone(checkID int64, ptr unsafe.Pointer, n int32) int32

//go:wasmimport zappy log
func hostLog(checkID int64, level int32, ptr unsafe.Pointer, n int32)

//go:wasmimport zappy json_index
func hostJSONIndex(jsonPtr unsafe.Pointer, jsonLen int32, ixPtr unsafe.Pointer, ixCap int32) int32

// zjson.Parse reads every document of 24 bytes or more (the input,
// operation results, whatever a check parses) through the host's native
// indexer rather than parsing it in wasm.
func init() {
	hostindex.Func = func(data, dst []byte) int {
		return int(hostJSONIndex(bufPtr(data), int32(len(data)), bufPtr(dst), int32(len(dst)/zjson.IndexRecordSize)))
	}
}

const (
	readyBit  = int64(1) << 62 // op completed synchronously: take it now
	tooSmall  = int64(1) << 62 // take: buffers too small, sizes returned, nothing consumed
	sizeMask  = int64(1)<<31 - 1
	errFault  = -1 // a pointer or length outside the module's memory
	errClosed = -2 // unknown or finished check
	errNoOp   = -3 // unknown operation
	errToken  = -4 // unknown token, or its result is not ready
)

// startOp hands op, with the request in w (recycled once the host has
// copied it), to the host. It returns the token to wait on or, when the
// host completed op at once, to take now (ready); or an error when the host
// refused it.
func startOp(c *Check, op int32, w *zjson.Writer, data []byte) (tok int64, ready bool, err error) {
	req := w.Bytes()
	tok = hostOp(c.ID, op, bufPtr(req), int32(len(req)), bufPtr(data), int32(len(data)))
	putWriter(w)
	if tok < 0 {
		return 0, false, abiError(tok, opName(op))
	}
	return tok, tok&readyBit != 0, nil
}

// startCall is startOp for a caller that waits for the result: one the
// host completed at once is taken now (tok 0), onto a tape of its own.
func startCall(c *Check, op int32, w *zjson.Writer, data []byte) (tok int64, v zjson.Value, out []byte, err error) {
	tok, ready, err := startOp(c, op, w, data)
	switch {
	case err != nil:
		return 0, zjson.Value{}, nil, err
	case ready:
		v, out, err = takeResult(tok, 0, 0, false)
		return 0, v, out, err
	}
	return tok, zjson.Value{}, nil, nil
}

func bufPtr(b []byte) unsafe.Pointer {
	if cap(b) == 0 {
		return nil
	}
	return unsafe.Pointer(unsafe.SliceData(b))
}

// scratch and scratchData hold small results so that most takes need no
// allocation beyond the copies handed to check code; scratchMu keeps two
// goroutines from using them at once (one can be switched out while
// allocating its copy).
var (
	scratchMu   sync.Mutex
	scratch     [4096]byte
	scratchData [4096]byte
)

// resultDoc holds the tapes of the results takeResult hands to callbacks
// (temp): they convert the result before any other code runs, so one tape
// serves them all.
var resultDoc zjson.Doc

// takeResult fetches a completed op's result. sizes may be 0 when unknown
// (synchronous completion): the scratch buffers are tried first, and a
// result that fits them is copied out with its tape in one allocation; with
// temp, only its text is copied and the tape is resultDoc's, valid until
// the next takeResult with temp.
func takeResult(token int64, jsonLen, dataLen int32, temp bool) (zjson.Value, []byte, error) {
	if int(jsonLen) <= len(scratch) && int(dataLen) <= len(scratchData) {
		scratchMu.Lock()
		r := hostTake(token, unsafe.Pointer(&scratch[0]), int32(len(scratch)), unsafe.Pointer(&scratchData[0]), int32(len(scratchData)))
		if r >= 0 && r&tooSmall == 0 {
			var v zjson.Value
			var err error
			if js := scratch[:r>>32&sizeMask]; temp {
				v, err = resultDoc.ParseCopy(js)
			} else {
				v, err = zjson.ParseCopy(js)
			}
			var data []byte
			if n := r & sizeMask; n > 0 {
				data = append([]byte(nil), scratchData[:n]...)
			}
			scratchMu.Unlock()
			return resultFrom(v, err, data)
		}
		scratchMu.Unlock()
		if r < 0 {
			return zjson.Value{}, nil, abiError(r, "take")
		}
		r &^= tooSmall // the sizes are below the flag
		jsonLen, dataLen = int32(r>>32&sizeMask), int32(r&sizeMask)
	}
	js := make([]byte, jsonLen)
	data := make([]byte, dataLen)
	r := hostTake(token, bufPtr(js), jsonLen, bufPtr(data), dataLen)
	if r < 0 {
		return zjson.Value{}, nil, abiError(r, "take")
	}
	if r&tooSmall != 0 {
		return zjson.Value{}, nil, &Error{Code: "invalid", Message: "zappy: host result larger than announced"}
	}
	var v zjson.Value
	var err error
	if temp {
		v, err = resultDoc.Parse(js)
	} else {
		v, err = zjson.Parse(js)
	}
	return resultFrom(v, err, data)
}

func resultFrom(v zjson.Value, err error, data []byte) (zjson.Value, []byte, error) {
	if err != nil {
		return zjson.Value{}, nil, &Error{Code: "protocol", Message: "zappy: bad result JSON from host: " + err.Error()}
	}
	return v, data, errorFrom(v)
}

func abiError(code int64, what string) error {
	msg := "zappy: host refused " + what
	switch code {
	case errFault:
		msg += ": invalid pointer or length"
	case errClosed:
		msg += ": the check is no longer active"
	case errNoOp:
		msg += ": unknown operation"
	case errToken:
		msg += ": unknown token"
	}
	return &Error{Code: "invalid", Message: msg}
}

func logHost(checkID int64, level int32, msg string) {
	b := []byte(msg)
	hostLog(checkID, level, bufPtr(b), int32(len(b)))
}

// hostFrames is set once the host has handed a check input as a frame: it
// takes result frames too.
var hostFrames bool

// frameBuf is kept for the next result frame finish encodes; frameMu
// guards it. The buffer is taken out while in use, not locked: encoding
// runs check code (a field's MarshalZJSON or Error), which may panic.
var (
	frameMu  sync.Mutex
	frameBuf []byte
)

func finish(c *Check, res Result) {
	if hostFrames {
		frameMu.Lock()
		b := frameBuf
		frameBuf = nil
		frameMu.Unlock()
		b, ok := res.appendFrame(b[:0])
		if ok {
			hostDone(c.ID, bufPtr(b), int32(len(b)))
		}
		if cap(b) <= 64<<10 {
			frameMu.Lock()
			frameBuf = b
			frameMu.Unlock()
		}
		if ok {
			return
		}
	}
	w := getWriter()
	res.MarshalZJSON(w)
	b := w.Bytes()
	hostDone(c.ID, bufPtr(b), int32(len(b)))
	putWriter(w)
}

// acceptInput reads a new check's input; when it cannot, the check ends
// with status error and acceptInput returns nil.
func acceptInput(checkID int64, n int32) *Check {
	c, err := readInput(checkID, n)
	if err != nil {
		finish(&Check{ID: checkID}, Result{Status: StatusError, Message: "zappy: cannot read check input: " + err.Error()})
		return nil
	}
	c.ID = checkID
	return c
}

// inputText and inputDoc receive check inputs, which checkFrom copies what
// it keeps of: no allocation for the input itself. Only zappy_start (and
// zappy_check) read inputs, and calls into a module never overlap
// (sdk/ABI.md), so they need no lock.
var (
	inputText [2048]byte
	inputDoc  zjson.Doc
)

func readInput(checkID int64, n int32) (*Check, error) {
	buf := inputText[:]
	if n < 0 || int(n) > len(buf) {
		buf = make([]byte, max(n, 0))
	}
	got := hostInput(checkID, bufPtr(buf), n)
	if got < 0 || got > n {
		return nil, abiError(int64(got), "input")
	}
	if got > 0 && buf[0] == frameVersion {
		hostFrames = true
		return checkFromFrame(buf[:got])
	}
	v, err := inputDoc.Parse(buf[:got])
	if err != nil {
		return nil, err
	}
	return checkFrom(v), nil
}

var manifestKeep []byte

func exportManifestFor(mode string) int64 {
	manifestKeep = manifestJSON(mode)
	return int64(uintptr(unsafe.Pointer(&manifestKeep[0])))<<32 | int64(len(manifestKeep))
}

//go:wasmexport zappy_abi_version
func exportABIVersion() int32 { return ABIVersion }
