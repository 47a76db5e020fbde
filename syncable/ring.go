package syncable

// ring is the in-memory sequence of a List or Deque: a growable ring buffer,
// so that pushes and pops at both ends are O(1). Each element remembers its
// origin, its index in the list the last Load or Sync left in Redis (-1 for
// an element added since), from which a Sync works out what to send.
type ring[T any] struct {
	buf  []elem[T]
	head int // index in buf of the first element
	n    int
}

type elem[T any] struct {
	v       T
	origin  int
	changed bool // replaced since the last Load or Sync (SetIndex)
}

func (r *ring[T]) len() int { return r.n }

// at returns the i-th element, 0 <= i < n.
func (r *ring[T]) at(i int) *elem[T] { return &r.buf[(r.head+i)%len(r.buf)] }

func (r *ring[T]) grow() {
	if r.n < len(r.buf) {
		return
	}
	buf := make([]elem[T], max(8, 2*len(r.buf)))
	for i := range r.n {
		buf[i] = *r.at(i)
	}
	r.buf, r.head = buf, 0
}

func (r *ring[T]) pushBack(e elem[T]) {
	r.grow()
	r.buf[(r.head+r.n)%len(r.buf)] = e
	r.n++
}

func (r *ring[T]) pushFront(e elem[T]) {
	r.grow()
	r.head = (r.head + len(r.buf) - 1) % len(r.buf)
	r.buf[r.head] = e
	r.n++
}

func (r *ring[T]) popBack() elem[T] {
	p := r.at(r.n - 1)
	e := *p
	*p = elem[T]{} // drop the reference for the garbage collector
	r.n--
	return e
}

func (r *ring[T]) popFront() elem[T] {
	p := r.at(0)
	e := *p
	*p = elem[T]{}
	r.head = (r.head + 1) % len(r.buf)
	r.n--
	return e
}

// insert inserts e before index i, 0 <= i <= n, moving the elements on the
// shorter side.
func (r *ring[T]) insert(i int, e elem[T]) {
	if i < r.n-i {
		r.pushFront(e)
		for j := 0; j < i; j++ {
			*r.at(j), *r.at(j + 1) = *r.at(j + 1), *r.at(j)
		}
		return
	}
	r.pushBack(e)
	for j := r.n - 1; j > i; j-- {
		*r.at(j), *r.at(j - 1) = *r.at(j - 1), *r.at(j)
	}
}

// remove removes and returns the element at index i, 0 <= i < n.
func (r *ring[T]) remove(i int) elem[T] {
	e := *r.at(i)
	if i < r.n-1-i {
		for j := i; j > 0; j-- {
			*r.at(j) = *r.at(j - 1)
		}
		r.popFront()
		return e
	}
	for j := i; j < r.n-1; j++ {
		*r.at(j) = *r.at(j + 1)
	}
	r.popBack()
	return e
}

// rotate moves the last k elements to the front, 0 <= k < n.
func (r *ring[T]) rotate(k int) {
	if k == 0 {
		return
	}
	if r.n == len(r.buf) { // full: moving head is the rotation
		r.head = (r.head + r.n - k) % len(r.buf)
		return
	}
	if k <= r.n/2 {
		for range k {
			r.pushFront(r.popBack())
		}
		return
	}
	for range r.n - k {
		r.pushBack(r.popFront())
	}
}

func (r *ring[T]) clear() {
	clear(r.buf)
	r.head, r.n = 0, 0
}

// all yields the indexes and values, front to back.
func (r *ring[T]) all(yield func(int, T) bool) {
	for i := range r.n {
		if !yield(i, r.at(i).v) {
			return
		}
	}
}

// index resolves a Python-style index (negative counts from the end) into
// 0 <= i < n, or reports that there is no such element.
func (r *ring[T]) index(i int) (int, bool) {
	if i < 0 {
		i += r.n
	}
	return i, i >= 0 && i < r.n
}
