package datasets

import (
	"fmt"
	"strings"
)

// Source is a data set optlab can load by name.
type Source struct {
	Name        string
	Description string
	// Load reads the data set from dir, or from its default places when dir
	// is empty.
	Load func(dir string) (*Set, error)
}

// Sources returns the known data sets, sorted by name.
func Sources() []Source {
	return []Source{
		{Name: "fashion-mnist", Description: "Fashion-MNIST clothing images: 60,000 training and 10,000 test images of 28×28 pixels, 10 classes (Debian's " + FashionMNISTPackage + "; see LoadFashionMNIST)",
			Load: LoadFashionMNIST},
		{Name: "mnist", Description: "MNIST handwritten digits: 60,000 training and 10,000 test images of 28×28 pixels, 10 classes (see LoadMNIST)",
			Load: LoadMNIST},
	}
}

// Names returns the names of Sources.
func Names() []string {
	var names []string
	for _, s := range Sources() {
		names = append(names, s.Name)
	}
	return names
}

// Get returns the data set with the given name, or an error listing the valid names.
func Get(name string) (Source, error) {
	for _, s := range Sources() {
		if s.Name == name {
			return s, nil
		}
	}
	return Source{}, fmt.Errorf("unknown data set %q (valid: %s)", name, strings.Join(Names(), ", "))
}
