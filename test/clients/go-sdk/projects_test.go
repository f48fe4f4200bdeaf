// A whole pipeline with the Atlas Go SDK, as a Go user writes it: make a project with the SDK's
// Projects API, an endpoint in it, list and rename the project, then take both down; and list
// the organizations. docs/clients.md shows this code.
package atlasgosdktest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"go.mongodb.org/atlas-sdk/v20250312020/admin"
)

func orgOwnerClient(t *testing.T) *admin.APIClient {
	return digestClient(t, env(t, "SNAPLINK_ORG_PUBLIC_KEY"), env(t, "SNAPLINK_ORG_PRIVATE_KEY"))
}

// runPipeline is the pipeline docs/clients.md shows: create project → endpoint → wait ACTIVE →
// delete the endpoint → wait until it is gone → delete the project.
func runPipeline(ctx context.Context, t *testing.T, client *admin.APIClient, orgID, name string) {
	t.Helper()
	project, res, err := client.ProjectsApi.CreateGroup(ctx, &admin.Group{Name: name, OrgId: orgID}).Execute()
	if err != nil {
		t.Fatalf("create project: %v", err)
	}
	if res.StatusCode != http.StatusCreated || project.GetName() != name || project.GetOrgId() != orgID {
		t.Fatalf("create project answered %d: %+v", res.StatusCode, project)
	}
	groupID := project.GetId()

	endpoint := createEndpoint(t, client, groupID, "US_EAST_1")
	waitFor(t, "ACTIVE", func() (bool, error) {
		got, _, err := client.CloudBackupsApi.GetBackupPrivateEndpoint(ctx, groupID, aws, endpoint.GetId()).Execute()
		return err == nil && got.GetStatus() == "ACTIVE", err
	})

	// A project with an endpoint cannot be deleted: Atlas's 409.
	res, err = client.ProjectsApi.DeleteGroup(ctx, groupID).Execute()
	apiError(t, err, res, http.StatusConflict, "CANNOT_CLOSE_GROUP_ACTIVE_ATLAS_PRIVATE_ENDPOINT_SERVICES")

	deleteAndWaitGone(t, client, groupID, endpoint.GetId())
	res, err = client.ProjectsApi.DeleteGroup(ctx, groupID).Execute()
	if err != nil || res.StatusCode != http.StatusAccepted {
		t.Fatalf("delete project: %v %v", res, err)
	}
	_, res, err = client.ProjectsApi.GetGroup(ctx, groupID).Execute()
	apiError(t, err, res, http.StatusNotFound, "GROUP_NOT_FOUND")
}

func TestProjectPipelineWithAPIKey(t *testing.T) {
	runPipeline(context.Background(), t, orgOwnerClient(t), env(t, "SNAPLINK_ORG_ID"), fmt.Sprintf("go-sdk-pipeline-%d", os.Getpid()))
}

func TestProjectPipelineWithServiceAccount(t *testing.T) {
	ctx := context.Background()
	runPipeline(ctx, t, serviceAccountClient(ctx, t), env(t, "SNAPLINK_ORG_ID"), fmt.Sprintf("go-sdk-oauth-%d", os.Getpid()))
}

// The project read back, by id and by name, listed (in the project list and the organization's),
// renamed and retagged; then deleted.
func TestProjectsListedRenamedDeleted(t *testing.T) {
	ctx := context.Background()
	client := orgOwnerClient(t)
	orgID := env(t, "SNAPLINK_ORG_ID")
	name := fmt.Sprintf("go-sdk-rename-%d", os.Getpid())

	tags := []admin.ResourceTag{{Key: "env", Value: "ci"}}
	created, _, err := client.ProjectsApi.CreateGroup(ctx, &admin.Group{Name: name, OrgId: orgID, Tags: &tags, WithDefaultAlertsSettings: admin.PtrBool(false)}).Execute()
	if err != nil {
		t.Fatal(err)
	}
	if created.GetClusterCount() != 0 || created.GetCreated().IsZero() || time.Since(created.GetCreated()) > time.Hour || created.GetWithDefaultAlertsSettings() {
		t.Fatalf("create answered %+v", created)
	}
	byName, _, err := client.ProjectsApi.GetGroupByName(ctx, name).Execute()
	if err != nil || byName.GetId() != created.GetId() || len(byName.GetTags()) != 1 || byName.GetTags()[0].Key != "env" {
		t.Fatalf("by name: %+v %v", byName, err)
	}

	inList := func(page *admin.PaginatedAtlasGroup, id string) bool {
		for _, p := range page.GetResults() {
			if p.GetId() == id {
				return true
			}
		}
		return false
	}
	all, _, err := client.ProjectsApi.ListGroups(ctx).ItemsPerPage(500).Execute()
	if err != nil || !inList(all, created.GetId()) || all.GetTotalCount() != len(all.GetResults()) {
		t.Fatalf("list: %+v %v", all, err)
	}
	inOrg, _, err := client.OrganizationsApi.GetOrgGroups(ctx, orgID).Name(name).Execute()
	if err != nil || len(inOrg.GetResults()) != 1 || !inList(inOrg, created.GetId()) {
		t.Fatalf("the organization's projects named %s: %+v %v", name, inOrg, err)
	}

	renamed, _, err := client.ProjectsApi.UpdateGroup(ctx, created.GetId(), &admin.GroupUpdate{Name: admin.PtrString(name + "-renamed"), Tags: &[]admin.ResourceTag{}}).Execute()
	if err != nil || renamed.GetName() != name+"-renamed" || len(renamed.GetTags()) != 0 {
		t.Fatalf("rename: %+v %v", renamed, err)
	}
	_, res, err := client.ProjectsApi.GetGroupByName(ctx, name).Execute()
	apiError(t, err, res, http.StatusNotFound, "GROUP_NAME_NOT_FOUND")

	// A second project of the same name in the organization is Atlas's 409.
	_, res, err = client.ProjectsApi.CreateGroup(ctx, &admin.Group{Name: name + "-renamed", OrgId: orgID}).Execute()
	apiError(t, err, res, http.StatusConflict, "GROUP_ALREADY_EXISTS")

	if _, err := client.ProjectsApi.DeleteGroup(ctx, created.GetId()).Execute(); err != nil {
		t.Fatal(err)
	}
}

func TestOrganizationsListed(t *testing.T) {
	ctx := context.Background()
	client := orgOwnerClient(t)
	orgID := env(t, "SNAPLINK_ORG_ID")

	orgs, _, err := client.OrganizationsApi.ListOrgs(ctx).Execute()
	if err != nil || orgs.GetTotalCount() != 1 || len(orgs.GetResults()) != 1 || orgs.GetResults()[0].GetId() != orgID {
		t.Fatalf("an organization owner sees its organization alone: %+v %v", orgs, err)
	}
	org, _, err := client.OrganizationsApi.GetOrg(ctx, orgID).Execute()
	if err != nil || org.GetId() != orgID || org.GetName() == "" || org.GetIsDeleted() {
		t.Fatalf("get organization: %+v %v", org, err)
	}

	// A credential reaches no organization but its own.
	_, res, err := ownerClient(t).OrganizationsApi.GetOrg(ctx, "6650f0c0a1b2c3d4e5f6ffff").Execute()
	apiError(t, err, res, http.StatusUnauthorized, "USER_UNAUTHORIZED")
}
