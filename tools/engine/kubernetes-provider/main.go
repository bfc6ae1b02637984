// Command pulumi-resource-kubernetes serves the Kubernetes provider plugin to the Pulumi engine.
//
// The provider module's own command embeds its package schema from files its generator writes; this
// project's build script (../build) writes the same two files beside this one from the module's
// schema.json and terraform-mapping.json, stamped with the version below, before `go build`.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var schema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, schema, terraformMapping)
}
