package main

import (
	"fmt"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Kustomize renders the kustomization in dir as multi-document YAML, with the kustomize library
// that `kubectl kustomize` embeds, so the manifests can be rendered where kubectl is not installed.
// Files outside the kustomization root are refused, as `kubectl apply -k` does; objects come in
// kubectl's (legacy) order, so both renderings are the same bytes.
func Kustomize(dir string) ([]byte, error) {
	options := krusty.MakeDefaultOptions()
	options.Reorder = krusty.ReorderOptionLegacy
	k := krusty.MakeKustomizer(options)
	resources, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize %s: %w", dir, err)
	}
	return resources.AsYaml()
}
