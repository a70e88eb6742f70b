using FreshBooksConnect.Consent;
using FreshBooksConnect.FreshBooks;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace FreshBooksConnect.Tests;

public sealed class OnboardingLinksTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));

    private OnboardingLinks Links(string? key = null) => new(
        Options.Create(new OnboardingOptions { SigningKey = key ?? SigningKey, AllowedReturnUrls = "https://saas.example/settings/;http://localhost:3000/" }),
        Options.Create(new FreshBooksOptions { RedirectUri = new Uri("https://app.example/api/callback") }),
        _time);

    private static readonly string SigningKey = KeyRings.NewKey();

    private static string TokenOf(LinkCreationResult link) => link.Url!.Query["?link=".Length..];

    [Fact]
    public void A_link_points_at_start_and_validates_to_its_tenant_and_return_url()
    {
        var link = Links().Create(new LinkRequest("acme", ReturnUrl: "https://saas.example/settings/fb"));

        Assert.Equal("https://app.example/api/connect", link.Url!.GetLeftPart(UriPartial.Path));
        Assert.Equal("t-acme", link.ConnectionId);
        var validation = Links().Validate(TokenOf(link));
        Assert.Equal(LinkValidationOutcome.Valid, validation.Outcome);
        Assert.Equal(new OnboardingLinkClaims(validation.Claims!.LinkId, "acme", "https://saas.example/settings/fb", false, _time.GetUtcNow().AddHours(1)), validation.Claims);
        Assert.Matches("^[A-Za-z0-9_-]{22}$", validation.Claims.LinkId);
    }

    [Fact]
    public void Each_link_has_an_id_of_its_own_and_carries_the_identity_change_flag()
    {
        var first = Links().Validate(TokenOf(Links().Create(new LinkRequest("acme")))).Claims!;
        var second = Links().Validate(TokenOf(Links().Create(new LinkRequest("acme", AllowIdentityChange: true)))).Claims!;

        Assert.NotEqual(first.LinkId, second.LinkId);
        Assert.False(first.AllowIdentityChange);
        Assert.True(second.AllowIdentityChange);
    }

    [Fact]
    public void An_expired_link_is_refused()
    {
        var token = TokenOf(Links().Create(new LinkRequest("acme")));
        _time.Advance(TimeSpan.FromHours(1));

        Assert.Equal(LinkValidationOutcome.Expired, Links().Validate(token).Outcome);
    }

    [Fact]
    public void A_link_signed_with_another_key_or_altered_is_refused()
    {
        var token = TokenOf(Links().Create(new LinkRequest("acme")));
        var other = TokenOf(Links().Create(new LinkRequest("evil")));

        Assert.Equal(LinkValidationOutcome.Forged, Links(KeyRings.NewKey()).Validate(token).Outcome);
        Assert.Equal(LinkValidationOutcome.Forged, Links().Validate(other.Split('.')[0] + "." + token.Split('.')[1]).Outcome);
    }

    [Theory]
    [InlineData("https://saas.example/settings/x", true)]
    [InlineData("https://saas.example/other", false)]
    [InlineData("http://saas.example/settings/x", false)]
    [InlineData("https://user@saas.example/settings/x", false)]
    [InlineData("https://saas.example.evil/settings/x", false)]
    [InlineData("javascript:alert(1)", false)]
    [InlineData("https://saas.example/settings", true)]
    [InlineData("https://saas.example/settingsEVIL", false)]
    [InlineData("https://saas.example/settings/..%2fadmin", false)]
    [InlineData("https://saas.example/settings/%2e%2e/admin", false)]
    [InlineData("https://saas.example/settings/a%2Fb", false)]
    [InlineData("https://saas.example/settings/a%5Cb", false)]
    [InlineData("https://saas.example/settings/a\\b", false)]
    [InlineData("http://localhost:3000/x", true)]
    [InlineData("ftp://localhost:3000/x", false)]
    public void Return_urls_must_sit_under_an_allowed_prefix(string url, bool allowed) =>
        Assert.Equal(allowed, Links().IsAllowedReturnUrl(url));

    [Theory]
    [InlineData("acme", true)]
    [InlineData("Acme.Corp_1-2", true)]
    [InlineData("", false)]
    [InlineData("-acme", false)]
    [InlineData("acme\n", false)]
    [InlineData("a/b", false)]
    public void Tenant_ids_are_plain_names(string tenant, bool valid) => Assert.Equal(valid, OnboardingLinks.IsValidTenantId(tenant));

    [Theory]
    [InlineData("Acme Ltd", true)]
    [InlineData("Zürich Bäckerei & Söhne <GmbH>", true)]
    [InlineData("株式会社 🏔", true)]
    [InlineData("", false)]
    [InlineData("   ", false)]
    [InlineData("Acme\nLtd", false)]
    [InlineData("Acme\u0085", false)]
    [InlineData("\u202Eevil", false)]
    [InlineData("Acme\u200D", false)]
    [InlineData("Acme\u2028Ltd", false)]
    public void Tenant_names_are_text_for_a_sentence(string name, bool valid) => Assert.Equal(valid, OnboardingLinks.IsValidTenantName(name));

    [Fact]
    public void A_link_carries_its_tenant_name_trimmed_and_refuses_a_bad_one_or_one_longer_than_100_characters()
    {
        var link = Links().Create(new LinkRequest("acme", TenantName: "  Acme Ltd  "));
        Assert.Equal("Acme Ltd", Links().Validate(TokenOf(link)).Claims!.TenantName);
        Assert.Null(Links().Validate(TokenOf(Links().Create(new LinkRequest("acme")))).Claims!.TenantName);
        Assert.Equal(LinkCreationOutcome.Created, Links().Create(new LinkRequest("acme", TenantName: new string('n', 100))).Outcome);

        // A lone surrogate here, not in [InlineData]: test discovery would turn it into U+FFFD on the way.
        foreach (var bad in new[] { new string('n', 101), "", "a\r\nb", "\u202Eevil", "Acme\uD800", "\uDC00Acme" })
        {
            var refused = Links().Create(new LinkRequest("acme", TenantName: bad));
            Assert.Equal(LinkCreationOutcome.InvalidTenantName, refused.Outcome);
            Assert.Null(refused.Url);
        }
    }

    [Fact]
    public void A_link_longer_than_Start_accepts_is_refused_and_every_link_created_is_one_Start_accepts()
    {
        // Each part is allowed alone (a 2,000-character return URL, a 100-character name); together they exceed what Start reads.
        var refused = Links().Create(new LinkRequest("acme", "https://saas.example/settings/" + new string('a', 1900), TenantName: new string('é', 100)));
        Assert.Equal(LinkCreationOutcome.TooLong, refused.Outcome);
        Assert.Null(refused.Url);

        var longest = Links().Create(new LinkRequest(new string('a', 100), "https://saas.example/settings/" + new string('a', 600), true, new string('é', 100)));
        Assert.Equal(LinkCreationOutcome.Created, longest.Outcome);
        Assert.InRange(TokenOf(longest).Length, 1, OnboardingLinks.MaxTokenLength);
        Assert.Equal(LinkValidationOutcome.Valid, Links().Validate(TokenOf(longest)).Outcome);
    }

    [FsCheck.Xunit.Property(MaxTest = 300)]
    public bool Any_string_is_never_a_valid_link_and_never_throws(string? token) =>
        Links().Validate(token).Outcome != LinkValidationOutcome.Valid;

    [FsCheck.Xunit.Property(MaxTest = 200)]
    public Property Changing_any_one_character_of_a_valid_link_breaks_it()
    {
        var token = TokenOf(Links().Create(new LinkRequest("acme", ReturnUrl: "https://saas.example/settings/")));
        var positions = Gen.Choose(0, token.Length - 1);
        var characters = Gen.Elements("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=%".ToCharArray());
        return Prop.ForAll(
            Arb.From(Gen.Zip(positions, characters)),
            change =>
            {
                var (at, c) = change;
                var altered = token[..at] + c + token[(at + 1)..];
                return altered == token || Links().Validate(altered).Outcome != LinkValidationOutcome.Valid;
            });
    }
}
