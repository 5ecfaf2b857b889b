package datasets

import (
	"strings"
	"testing"
)

func TestGet(t *testing.T) {
	s, err := Get("mnist")
	if err != nil || s.Name != "mnist" || s.Load == nil {
		t.Fatalf("Get(mnist) = %+v, %v", s, err)
	}
	if _, err := Get("cifar"); err == nil || !strings.Contains(err.Error(), `"cifar"`) || !strings.Contains(err.Error(), "mnist") {
		t.Errorf("Get(cifar): %v, want an error naming it and the valid names", err)
	}
}
