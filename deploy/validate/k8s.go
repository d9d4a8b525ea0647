package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// maxInput bounds what is read from stdin: rendered manifests are kilobytes, not gigabytes.
const maxInput = 64 << 20

// The API groups the manifests may use. A kind outside them is an error: better to add its group
// here than to let an object pass unchecked.
var addToScheme = []func(*runtime.Scheme) error{
	corev1.AddToScheme, appsv1.AddToScheme, autoscalingv2.AddToScheme, policyv1.AddToScheme,
	networkingv1.AddToScheme, rbacv1.AddToScheme, batchv1.AddToScheme,
}

func strictDecoder() (runtime.Decoder, error) {
	scheme := runtime.NewScheme()
	for _, add := range addToScheme {
		if err := add(scheme); err != nil {
			return nil, err
		}
	}
	// EnableStrict: unknown and duplicate fields are errors (runtime.IsStrictDecodingError),
	// not silently dropped as the default decoder does.
	return serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer(), nil
}

type header struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
}

// CheckKubernetes decodes every document of a multi-document YAML stream strictly and returns the
// number of objects and one problem per bad object, each starting with "kind/name".
func CheckKubernetes(data []byte) (int, []string) {
	decoder, err := strictDecoder()
	if err != nil {
		return 0, []string{err.Error()}
	}
	reader := utilyaml.NewYAMLReader(bufioReader(data))
	var problems []string
	objects := 0
	for index := 0; ; index++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return objects, append(problems, fmt.Sprintf("document %d: %v", index, err))
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		objects++
		if problem := checkObject(decoder, doc, index); problem != "" {
			problems = append(problems, problem)
		}
	}
	if objects == 0 {
		problems = append(problems, "no object in the input")
	}
	return objects, problems
}

func checkObject(decoder runtime.Decoder, doc []byte, index int) string {
	var h header
	if err := yaml.Unmarshal(doc, &h); err != nil {
		return fmt.Sprintf("document %d: not a Kubernetes object: %v", index, err)
	}
	id := fmt.Sprintf("%s/%s", h.Kind, h.Metadata.Name)
	if h.APIVersion == "" || h.Kind == "" {
		return fmt.Sprintf("document %d (%s): apiVersion and kind are required", index, id)
	}
	if h.Metadata.Name == "" {
		return fmt.Sprintf("%s (%s): metadata.name is required", id, h.APIVersion)
	}
	// YAML -> JSON first: sigs.k8s.io/yaml's conversion is what kubectl does, so the field names in
	// errors are the JSON paths a manifest author sees (spec.template.spec.containers[0].imagePullPolcy).
	jsonDoc, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return fmt.Sprintf("%s (%s): %v", id, h.APIVersion, err)
	}
	if _, _, err := decoder.Decode(jsonDoc, nil, nil); err != nil {
		return fmt.Sprintf("%s (%s): %s", id, h.APIVersion, strings.TrimSpace(err.Error()))
	}
	return ""
}

func stripComments(doc []byte) []byte {
	var out bytes.Buffer
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' && !bytes.Equal(t, []byte("---")) {
			out.Write(line)
			out.WriteByte('\n')
		}
	}
	return out.Bytes()
}
