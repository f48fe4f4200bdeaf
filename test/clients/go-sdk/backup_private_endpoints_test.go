// The Atlas Go SDK against snaplink, written as a Go user writes it: admin.NewClient with
// UseBaseURL and UseDigestAuth (or UseOAuthAuth for a service account), then the SDK's own
// CloudBackupsApi calls. test/go-sdk.test.ts starts snaplink and runs `go vet` and `go test`
// here; the environment variables below say where snaplink is and who to be.
package atlasgosdktest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sort"
	"testing"
	"time"

	"go.mongodb.org/atlas-sdk/v20250312020/admin"
)

const aws = "AWS"

// env reads one setting the Node.js suite passes; running `go test` by hand needs them too.
func env(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set: run this through `npm test` (test/go-sdk.test.ts), or export it", name)
	}
	return v
}

func digestClient(t *testing.T, publicKey, privateKey string) *admin.APIClient {
	t.Helper()
	client, err := admin.NewClient(
		admin.UseBaseURL(env(t, "SNAPLINK_URL")),
		admin.UseDigestAuth(publicKey, privateKey),
	)
	if err != nil {
		t.Fatalf("admin.NewClient: %v", err)
	}
	return client
}

// serviceAccountClient uses the SDK's own client-credentials support: it fetches the token from
// snaplink's /api/oauth/token and sends it as a Bearer token.
func serviceAccountClient(ctx context.Context, t *testing.T) *admin.APIClient {
	t.Helper()
	client, err := admin.NewClient(
		admin.UseBaseURL(env(t, "SNAPLINK_URL")),
		admin.UseOAuthAuth(ctx, env(t, "SNAPLINK_CLIENT_ID"), env(t, "SNAPLINK_CLIENT_SECRET")),
	)
	if err != nil {
		t.Fatalf("admin.NewClient: %v", err)
	}
	return client
}

func ownerClient(t *testing.T) *admin.APIClient {
	return digestClient(t, env(t, "SNAPLINK_PUBLIC_KEY"), env(t, "SNAPLINK_PRIVATE_KEY"))
}

// waitFor polls every 50 ms until done says so; the server runs with holds of a second.
func waitFor(t *testing.T, what string, done func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, err := done()
		if err != nil {
			t.Fatalf("while waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// apiError asserts that err is the SDK's typed ApiError with this status and errorCode.
func apiError(t *testing.T, err error, res *http.Response, status int, code string) *admin.ApiError {
	t.Helper()
	if err == nil {
		t.Fatalf("expected %d %s, the call succeeded", status, code)
	}
	apiErr, ok := admin.AsError(err)
	if !ok {
		t.Fatalf("expected the SDK's ApiError, got %T: %v", err, err)
	}
	if apiErr.GetError() != status || apiErr.GetErrorCode() != code || !admin.IsErrorCode(err, code) {
		t.Fatalf("expected %d %s, got %d %s (%s)", status, code, apiErr.GetError(), apiErr.GetErrorCode(), apiErr.GetDetail())
	}
	if res == nil || res.StatusCode != status {
		t.Fatalf("expected HTTP %d, got %v", status, res)
	}
	return apiErr
}

func createEndpoint(t *testing.T, client *admin.APIClient, groupID, region string) *admin.ObjectStoragePrivateEndpointResponse {
	t.Helper()
	body := &admin.ObjectStoragePrivateEndpointRequest{CloudProvider: admin.PtrString(aws), RegionName: admin.PtrString(region)}
	created, res, err := client.CloudBackupsApi.CreateBackupPrivateEndpoint(context.Background(), groupID, aws, body).Execute()
	if err != nil {
		t.Fatalf("create in %s: %v", region, err)
	}
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("create answered %d, want 201", res.StatusCode)
	}
	return created
}

// deleteAndWaitGone deletes each endpoint (204, DELETING), then waits until every GET is a 404.
func deleteAndWaitGone(t *testing.T, client *admin.APIClient, groupID string, ids ...string) {
	t.Helper()
	ctx := context.Background()
	for _, id := range ids {
		res, err := client.CloudBackupsApi.DeleteBackupPrivateEndpoint(ctx, groupID, aws, id).Execute()
		if err != nil {
			t.Fatalf("delete %s: %v", id, err)
		}
		if res.StatusCode != http.StatusNoContent {
			t.Fatalf("delete answered %d, want 204", res.StatusCode)
		}
	}
	for _, id := range ids {
		waitFor(t, "endpoint "+id+" to be gone", func() (bool, error) {
			got, res, err := client.CloudBackupsApi.GetBackupPrivateEndpoint(ctx, groupID, aws, id).Execute()
			if err == nil {
				if got.GetStatus() != "DELETING" {
					return false, fmt.Errorf("status %s while deleting", got.GetStatus())
				}
				return false, nil
			}
			apiError(t, err, res, http.StatusNotFound, "RESOURCE_NOT_FOUND")
			return true, nil
		})
	}
}

// The whole life of one endpoint: create with the seed's body, see every status on the way to
// ACTIVE, read it back, delete it, and see it gone.
func TestLifecycleWithAPIKey(t *testing.T) {
	ctx := context.Background()
	client := ownerClient(t)
	groupID := env(t, "SNAPLINK_GROUP_ID")

	created := createEndpoint(t, client, groupID, "US_EAST_1")
	if created.GetStatus() != "INITIATING" || created.GetCloudProvider() != aws || created.GetRegionName() != "US_EAST_1" || len(created.GetId()) != 24 {
		t.Fatalf("unexpected create answer: %+v", created)
	}

	seen := []string{created.GetStatus()}
	var active *admin.ObjectStoragePrivateEndpointResponse
	waitFor(t, "ACTIVE", func() (bool, error) {
		got, _, err := client.CloudBackupsApi.GetBackupPrivateEndpoint(ctx, groupID, aws, created.GetId()).Execute()
		if err != nil {
			return false, err
		}
		if got.GetStatus() != seen[len(seen)-1] {
			seen = append(seen, got.GetStatus())
		}
		active = got
		return got.GetStatus() == "ACTIVE", nil
	})
	if fmt.Sprint(seen) != "[INITIATING PENDING_ACCEPTANCE ACTIVE]" {
		t.Fatalf("statuses seen: %v", seen)
	}
	if name := active.GetPrivateEndpointConnectionName(); len(name) != len("vpce-")+17 || name[:5] != "vpce-" {
		t.Fatalf("privateEndpointConnectionName %q is not a VPC endpoint id", name)
	}
	if _, ok := active.GetErrorMessageOk(); ok {
		t.Fatalf("an ACTIVE endpoint carries no errorMessage: %+v", active)
	}

	deleteAndWaitGone(t, client, groupID, created.GetId())
}

// Pages through five endpoints two at a time with ItemsPerPage, PageNum and IncludeCount.
func TestListAcrossPages(t *testing.T) {
	ctx := context.Background()
	client := ownerClient(t)
	groupID := env(t, "SNAPLINK_GROUP_ID")

	regions := []string{"EU_WEST_1", "EU_WEST_2", "EU_CENTRAL_1", "AP_SOUTHEAST_2", "CA_CENTRAL_1"}
	want := []string{}
	for _, r := range regions {
		want = append(want, createEndpoint(t, client, groupID, r).GetId())
	}
	defer deleteAndWaitGone(t, client, groupID, want...)

	rels := func(page *admin.PaginatedApiAtlasObjectStoragePrivateEndpointResponse) map[string]bool {
		out := map[string]bool{}
		for _, l := range page.GetLinks() {
			out[l.GetRel()] = true
		}
		return out
	}
	got := []string{}
	for pageNum, size := range []int{2, 2, 1} {
		page, _, err := client.CloudBackupsApi.ListBackupPrivateEndpoints(ctx, groupID, aws).
			ItemsPerPage(2).PageNum(pageNum + 1).IncludeCount(true).Execute()
		if err != nil {
			t.Fatalf("page %d: %v", pageNum+1, err)
		}
		if len(page.GetResults()) != size || page.GetTotalCount() != len(regions) {
			t.Fatalf("page %d: %d results, totalCount %d", pageNum+1, len(page.GetResults()), page.GetTotalCount())
		}
		if links := rels(page); !links["self"] || links["next"] != (pageNum < 2) || links["previous"] != (pageNum > 0) {
			t.Fatalf("page %d links: %v", pageNum+1, links)
		}
		for _, e := range page.GetResults() {
			got = append(got, e.GetId())
		}
	}
	sort.Strings(got)
	sorted := append([]string{}, want...)
	sort.Strings(sorted)
	if fmt.Sprint(got) != fmt.Sprint(sorted) {
		t.Fatalf("pages hold %v, created %v", got, sorted)
	}

	// Without a count the total is absent, and the last page still knows it is the last.
	last, _, err := client.CloudBackupsApi.ListBackupPrivateEndpoints(ctx, groupID, aws).
		ItemsPerPage(2).PageNum(3).IncludeCount(false).Execute()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := last.GetTotalCountOk(); ok || len(last.GetResults()) != 1 || rels(last)["next"] {
		t.Fatalf("includeCount=false, last page: %+v", last)
	}
}

// A service account through the SDK's own client-credentials support: the SDK fetches the
// token from snaplink's /api/oauth/token and sends it as a Bearer token.
func TestLifecycleWithServiceAccount(t *testing.T) {
	ctx := context.Background()
	client := serviceAccountClient(ctx, t)
	groupID := env(t, "SNAPLINK_GROUP_ID")

	created := createEndpoint(t, client, groupID, "US_WEST_2")
	got, _, err := client.CloudBackupsApi.GetBackupPrivateEndpoint(ctx, groupID, aws, created.GetId()).Execute()
	if err != nil || got.GetId() != created.GetId() || got.GetRegionName() != "US_WEST_2" {
		t.Fatalf("get: %+v %v", got, err)
	}
	page, _, err := client.CloudBackupsApi.ListBackupPrivateEndpoints(ctx, groupID, aws).Execute()
	if err != nil || page.GetTotalCount() < 1 {
		t.Fatalf("list: %+v %v", page, err)
	}
	deleteAndWaitGone(t, client, groupID, created.GetId())

	_, res, err := client.CloudBackupsApi.GetBackupPrivateEndpoint(ctx, groupID, aws, "6650f0c0a1b2c3d4e5f6abcd").Execute()
	apiError(t, err, res, http.StatusNotFound, "RESOURCE_NOT_FOUND")
}

// Every documented error reaches the caller as the SDK's typed ApiError.
func TestErrorsAreTypedApiErrors(t *testing.T) {
	ctx := context.Background()
	client := ownerClient(t)
	groupID := env(t, "SNAPLINK_GROUP_ID")

	t.Run("409 duplicate", func(t *testing.T) {
		first := createEndpoint(t, client, groupID, "SA_EAST_1")
		defer deleteAndWaitGone(t, client, groupID, first.GetId())
		body := &admin.ObjectStoragePrivateEndpointRequest{CloudProvider: admin.PtrString(aws), RegionName: admin.PtrString("SA_EAST_1")}
		_, res, err := client.CloudBackupsApi.CreateBackupPrivateEndpoint(ctx, groupID, aws, body).Execute()
		apiError(t, err, res, http.StatusConflict, "OBJECT_STORAGE_PRIVATE_ENDPOINT_ALREADY_EXISTS")
	})

	t.Run("404 unknown id", func(t *testing.T) {
		_, res, err := client.CloudBackupsApi.GetBackupPrivateEndpoint(ctx, groupID, aws, "6650f0c0a1b2c3d4e5f6abcd").Execute()
		e := apiError(t, err, res, http.StatusNotFound, "RESOURCE_NOT_FOUND")
		if e.GetReason() != "Not Found" {
			t.Fatalf("reason %q", e.GetReason())
		}
		res, err = client.CloudBackupsApi.DeleteBackupPrivateEndpoint(ctx, groupID, aws, "6650f0c0a1b2c3d4e5f6abcd").Execute()
		apiError(t, err, res, http.StatusNotFound, "RESOURCE_NOT_FOUND")
	})

	t.Run("400 bad region", func(t *testing.T) {
		body := &admin.ObjectStoragePrivateEndpointRequest{CloudProvider: admin.PtrString(aws), RegionName: admin.PtrString("MOON_BASE_1")}
		_, res, err := client.CloudBackupsApi.CreateBackupPrivateEndpoint(ctx, groupID, aws, body).Execute()
		e := apiError(t, err, res, http.StatusBadRequest, "INVALID_ENUM_VALUE")
		if e.GetDetail() != "An invalid enumeration value MOON_BASE_1 was specified." {
			t.Fatalf("detail %q", e.GetDetail())
		}
	})

	t.Run("401 wrong key", func(t *testing.T) {
		wrong := digestClient(t, env(t, "SNAPLINK_PUBLIC_KEY"), env(t, "SNAPLINK_PRIVATE_KEY")+"-wrong")
		_, res, err := wrong.CloudBackupsApi.ListBackupPrivateEndpoints(ctx, groupID, aws).Execute()
		e := apiError(t, err, res, http.StatusUnauthorized, "UNEXPECTED_ERROR")
		if e.GetDetail() != "You are not authorized for this resource." {
			t.Fatalf("detail %q", e.GetDetail())
		}
	})

	t.Run("403 not on the access list", func(t *testing.T) {
		fenced := digestClient(t, env(t, "SNAPLINK_FENCED_PUBLIC_KEY"), env(t, "SNAPLINK_FENCED_PRIVATE_KEY"))
		_, res, err := fenced.CloudBackupsApi.ListBackupPrivateEndpoints(ctx, groupID, aws).Execute()
		apiError(t, err, res, http.StatusForbidden, "IP_ADDRESS_NOT_ON_ACCESS_LIST")
	})

	// The SDK always asks for the version its operation was generated for, so a wrong version
	// date can only be sent as a raw request, through the SDK's own Digest-authenticated client.
	t.Run("406 wrong version date", func(t *testing.T) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, env(t, "SNAPLINK_URL")+"/api/atlas/v2/groups/"+groupID+"/backup/AWS/privateEndpoints", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", "application/vnd.atlas.2023-01-01+json")
		res, err := client.GetConfig().HTTPClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var e admin.ApiError
		if err := json.NewDecoder(res.Body).Decode(&e); err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != http.StatusNotAcceptable || e.GetError() != 406 || e.GetErrorCode() != "INVALID_VERSION_DATE" {
			t.Fatalf("got %d %+v", res.StatusCode, e)
		}
	})
}
