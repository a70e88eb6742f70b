using System.Buffers.Text;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace FreshBooks.Emulator.Tests;

/// <summary>PKCE (RFC 7636), which FreshBooks does not document: what the emulator does when a client sends it, and when asked to require it.</summary>
public sealed partial class PkceTests(EmulatorFixture fixture) : EmulatorTest(fixture)
{
    // RFC 7636, appendix B.
    private const string Verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    private const string Challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    [Fact]
    public async Task A_code_issued_with_an_S256_challenge_is_exchanged_only_with_its_verifier_and_a_wrong_one_does_not_spend_it()
    {
        var code = await CodeAsync(Challenge, "S256");
        var foreign = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var grants = Emulator.LiveGrantCount;

        foreach (var verifier in new[] { foreign, null, Verifier + "x", Verifier[..42] })
        {
            using var refused = await Client.ExchangeAsync(code, codeVerifier: verifier);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal("invalid_grant", await TestClient.ErrorAsync(refused));
        }

        Assert.Equal(Enumerable.Repeat(MisuseKind.CodeVerifierMismatch, 4), MisuseKinds);
        Assert.All(Emulator.Misuses, m => Assert.DoesNotContain(Verifier[..20], m.Detail, StringComparison.Ordinal));
        Assert.Equal(grants, Emulator.LiveGrantCount);

        using var exchanged = await Client.ExchangeAsync(code, codeVerifier: Verifier);
        Assert.True(Emulator.IsAccessTokenValid((await TestClient.PairAsync(exchanged)).AccessToken));
    }

    [Fact]
    public async Task A_verifier_sent_for_a_code_issued_without_a_challenge_is_refused()
    {
        // RFC 9700 2.1.1: else a client tricked into leaving the challenge out (a downgrade) would not notice.
        var code = await CodeAsync(null, null);

        using var refused = await Client.ExchangeAsync(code, codeVerifier: Verifier);

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal("invalid_grant", await TestClient.ErrorAsync(refused));
        Assert.Equal([MisuseKind.CodeVerifierMismatch], MisuseKinds);
    }

    [Fact]
    public async Task Without_RequirePkce_a_code_issued_without_a_challenge_is_exchanged_as_FreshBooks_documents()
    {
        using var exchanged = await Client.ExchangeAsync(await CodeAsync(null, null));

        Assert.Equal(HttpStatusCode.OK, exchanged.StatusCode);
        Assert.Empty(MisuseKinds);
    }

    [Fact]
    public async Task When_PKCE_is_required_authorize_without_a_challenge_redirects_with_invalid_request_and_the_state()
    {
        Emulator.RequirePkce = true;

        var redirect = await Emulator.ApproveAsync(Client.AuthorizeUrl(state: "st"));

        var query = TestClient.Query(redirect);
        Assert.Equal("invalid_request", query["error"]);
        Assert.Equal("st", query["state"]);
        Assert.False(query.ContainsKey("code"));
        Assert.Equal([MisuseKind.PkceRequired], MisuseKinds);
    }

    [Fact]
    public async Task When_PKCE_is_required_a_code_issued_without_a_challenge_is_refused()
    {
        var code = await CodeAsync(null, null);
        Emulator.RequirePkce = true;

        using var refused = await Client.ExchangeAsync(code);

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal("invalid_grant", await TestClient.ErrorAsync(refused));
        Assert.Equal([MisuseKind.PkceRequired], MisuseKinds);
    }

    [Fact]
    public async Task When_PKCE_is_required_a_client_that_sends_it_completes_through_the_consent_form()
    {
        Emulator.RequirePkce = true;
        using var page = await Http.GetAsync(Client.AuthorizeUrl(codeChallenge: Challenge, codeChallengeMethod: "S256"));
        var fields = HiddenInput().Matches(await page.Content.ReadAsStringAsync()).ToDictionary(m => m.Groups[1].Value, m => WebUtility.HtmlDecode(m.Groups[2].Value));
        fields["decision"] = "allow";

        using var allowed = await Http.PostAsync("oauth/authorize/", new FormUrlEncodedContent(fields));
        var code = TestClient.Query(allowed.Headers.Location!)["code"].ToString();
        using var exchanged = await Client.ExchangeAsync(code, codeVerifier: Verifier);

        Assert.Equal(HttpStatusCode.OK, exchanged.StatusCode);
        Assert.Empty(MisuseKinds);
    }

    [Theory]
    [InlineData(Challenge, "plain")]
    [InlineData(Challenge, null)]                 // RFC 7636: no method means plain
    [InlineData(Challenge, "s256")]
    [InlineData(Verifier, "plain")]
    [InlineData(null, "S256")]                    // a method without a challenge
    [InlineData("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c", "S256")]     // 42 characters: not a SHA-256
    [InlineData("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM", "S256")]    // not base64url
    public async Task Only_a_well_formed_S256_challenge_is_accepted_whether_or_not_PKCE_is_required(string? challenge, string? method)
    {
        foreach (var required in new[] { false, true })
        {
            Harness.Reset();
            Emulator.RequirePkce = required;

            var redirect = await Emulator.ApproveAsync(Client.AuthorizeUrl(state: "st", codeChallenge: challenge, codeChallengeMethod: method));

            var query = TestClient.Query(redirect);
            Assert.Equal("invalid_request", query["error"]);
            Assert.Equal("st", query["state"]);
            Assert.False(query.ContainsKey("code"));
            Assert.Equal([MisuseKind.InvalidCodeChallenge], MisuseKinds);
        }
    }

    [Fact]
    public async Task RequirePkce_is_set_at_start_or_while_running_through_the_admin_endpoint()
    {
        await using var required = await EmulatorHarness.StartAsync(o => o.RequirePkce = true);
        Assert.True(required.Emulator.RequirePkce);

        using (var turnedOff = await required.Http.PostAsync("_emulator/pkce?required=false", null))
        {
            Assert.Equal(HttpStatusCode.OK, turnedOff.StatusCode);
            Assert.False((await turnedOff.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("require_pkce").GetBoolean());
        }

        Assert.False(required.Emulator.RequirePkce);
        using var turnedOn = await Http.PostAsync("_emulator/pkce?required=true", null);
        Assert.True((await turnedOn.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("require_pkce").GetBoolean());
        Assert.True(Emulator.RequirePkce);
        using var status = await Http.GetAsync("_emulator/status");
        Assert.True((await status.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("require_pkce").GetBoolean());
        Assert.Equal("invalid_request", TestClient.Query(await Emulator.ApproveAsync(Client.AuthorizeUrl()))["error"]);
    }

    private async Task<string> CodeAsync(string? challenge, string? method)
    {
        var redirect = await Emulator.ApproveAsync(Client.AuthorizeUrl(codeChallenge: challenge, codeChallengeMethod: method));
        return TestClient.Query(redirect)["code"].ToString();
    }

    [GeneratedRegex("<input type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]*)\">")]
    private static partial Regex HiddenInput();
}
