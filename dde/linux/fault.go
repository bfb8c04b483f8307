package linux

import "errors"

// ErrTrigger wraps the error of an injected fault's trigger (reopen,
// reprobe; Runtime.Inject): the interface is down or the driver is off
// the device.
var ErrTrigger = errors.New("dde: the fault's trigger failed")

// Fault is a fault Runtime.InjectFault plants in the donor's code.
type Fault int

// Faults.
const (
	FaultSegv Fault = 1 + iota // the next transmit dereferences address 0 inside donor code
	FaultHang                  // the next transmit loops forever inside donor code
)
