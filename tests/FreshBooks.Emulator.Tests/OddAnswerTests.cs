using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace FreshBooks.Emulator.Tests;

/// <summary>
/// <see cref="TokenFault.OddAnswer"/>: each odd 200 over real HTTP, asserted on the raw bytes, after the call
/// was really processed (old refresh token or code spent), with a new pair inside that really works.
/// </summary>
public sealed class OddAnswerTests(EmulatorFixture fixture) : EmulatorTest(fixture)
{
    private static readonly string[] UsualFields = ["access_token", "token_type", "expires_in", "refresh_token", "scope", "created_at", "direct_buy_tokens"];

    public static TheoryData<TokenAnswerShape> AllShapes => new(Enum.GetValues<TokenAnswerShape>());

    [Theory]
    [MemberData(nameof(AllShapes))]
    public async Task Odd_refresh_answer_is_sent_after_the_refresh_really_happened(TokenAnswerShape shape)
    {
        var first = await Client.ConnectAsync();
        var grantCreated = Emulator.Clock.GetUtcNow();
        Harness.Time.Advance(TimeSpan.FromHours(1));
        var now = Emulator.Clock.GetUtcNow();
        var liveGrants = Emulator.LiveGrantCount;
        Emulator.Faults.EnqueueToken(TokenFault.OddAnswer(shape));

        using var response = await Client.RefreshAsync(first.RefreshToken);
        var raw = Encoding.UTF8.GetString(await response.Content.ReadAsByteArrayAsync()); // never ReadAsString: the charset may be unknown

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var (access, refresh) = AssertShape(shape, response, raw, now, grantCreated);
        var call = Emulator.Calls.Last(c => c.Endpoint == EndpointKind.Token);
        Assert.Equal((TokenFaultKind.OddAnswer, shape, 200), (call.Fault, call.AnswerShape, call.StatusCode));

        // The refresh really happened: the old pair is dead, the grant lives on (rotated, not revoked).
        Assert.False(Emulator.IsAccessTokenValid(first.AccessToken));
        Assert.Equal(liveGrants, Emulator.LiveGrantCount);
        using (var reuse = await Client.RefreshAsync(first.RefreshToken))
        {
            Assert.Equal("invalid_grant", await TestClient.ErrorAsync(reuse));
        }

        Assert.Equal([MisuseKind.ReusedRefreshToken], MisuseKinds);
        await AssertPairWorksAsync(access, refresh);
    }

    [Theory]
    [InlineData(TokenAnswerShape.CreatedAtMilliseconds)]
    [InlineData(TokenAnswerShape.ExpiresInDecimal)]
    [InlineData(TokenAnswerShape.NotJson)]
    public async Task Odd_code_exchange_answer_is_sent_after_the_code_was_spent(TokenAnswerShape shape)
    {
        var code = await Client.CodeAsync();
        var now = Emulator.Clock.GetUtcNow();
        var liveGrants = Emulator.LiveGrantCount;
        Emulator.Faults.EnqueueToken(TokenFault.OddAnswer(shape));

        using var response = await Client.ExchangeAsync(code);
        var raw = Encoding.UTF8.GetString(await response.Content.ReadAsByteArrayAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var (access, refresh) = AssertShape(shape, response, raw, now, now);
        Assert.Equal(liveGrants + 1, Emulator.LiveGrantCount);
        Assert.Empty(Emulator.Misuses);
        await AssertPairWorksAsync(access, refresh); // reuses the new refresh token once, on purpose
        using var again = await Client.ExchangeAsync(code);
        Assert.Equal("invalid_grant", await TestClient.ErrorAsync(again));
        Assert.Equal(shape == TokenAnswerShape.NotJson ? [MisuseKind.ReusedCode] : [MisuseKind.ReusedRefreshToken, MisuseKind.ReusedCode], MisuseKinds);
    }

    [Fact]
    public async Task Odd_answer_fault_is_used_up_by_a_failing_call_which_is_answered_normally()
    {
        var pair = await Client.ConnectAsync();
        Emulator.Faults.EnqueueToken(TokenFault.OddAnswer(TokenAnswerShape.NotJson));

        using var failed = await Client.RefreshAsync(new string('a', 64));
        using var next = await Client.RefreshAsync(pair.RefreshToken);

        Assert.Equal(HttpStatusCode.BadRequest, failed.StatusCode);
        Assert.Equal("invalid_grant", await TestClient.ErrorAsync(failed));
        Assert.Null(Emulator.Calls.Single(c => c.StatusCode == 400).AnswerShape);
        await TestClient.PairAsync(next); // the usual shape again
        Assert.Equal(0, Emulator.Faults.PendingCount);
    }

    [Fact]
    public async Task Admin_endpoint_queues_odd_answers_by_shape_name_and_refuses_one_without_a_shape()
    {
        var pair = await Client.ConnectAsync();

        using var queued = await Http.PostAsync("_emulator/faults", JsonContent.Create(new
        {
            enqueue = new object[] { new { kind = "OddAnswer", shape = "CreatedAtString" } },
        }));
        using var refused = await Http.PostAsync("_emulator/faults", JsonContent.Create(new
        {
            enqueue = new object[] { new { kind = "OddAnswer" } },
        }));
        using var unknown = await Http.PostAsync("_emulator/faults", JsonContent.Create(new
        {
            enqueue = new object[] { new { kind = "OddAnswer", shape = "NoSuchShape" } },
        }));
        using var refresh = await Client.RefreshAsync(pair.RefreshToken);

        Assert.Equal(HttpStatusCode.OK, queued.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        using var body = JsonDocument.Parse(await refresh.Content.ReadAsStringAsync());
        Assert.Equal(JsonValueKind.String, body.RootElement.GetProperty("created_at").ValueKind);
        Assert.Equal(0, Emulator.Faults.PendingCount);
    }

    [Fact]
    public void Odd_answer_refuses_an_undefined_shape() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => TokenFault.OddAnswer((TokenAnswerShape)999));

    /// <summary>Checks the one odd thing about <paramref name="shape"/> and that the rest is the usual answer; returns the tokens inside, trimmed.</summary>
    private static (string? Access, string? Refresh) AssertShape(TokenAnswerShape shape, HttpResponseMessage response, string raw, DateTimeOffset now, DateTimeOffset grantCreated)
    {
        var contentType = response.Content.Headers.ContentType;
        if (shape == TokenAnswerShape.NotJson)
        {
            Assert.Equal("text/html", contentType?.MediaType);
            Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse(raw));
            return (null, null);
        }

        switch (shape)
        {
            case TokenAnswerShape.UnknownCharset:
                Assert.Equal("application/json; charset=foo-unknown", contentType?.ToString());
                break;
            case TokenAnswerShape.NoContentType:
                Assert.Null(contentType);
                Assert.False(response.Content.Headers.Contains("Content-Type"));
                break;
            default:
                Assert.Equal("application/json", contentType?.MediaType);
                break;
        }

        using var document = JsonDocument.Parse(raw);
        var root = document.RootElement;
        var missing = shape switch
        {
            TokenAnswerShape.CreatedAtMissing => "created_at",
            TokenAnswerShape.ExpiresInMissing => "expires_in",
            TokenAnswerShape.TokenTypeMissing => "token_type",
            TokenAnswerShape.ScopeMissing => "scope",
            TokenAnswerShape.RefreshTokenMissing => "refresh_token",
            _ => null,
        };
        foreach (var field in UsualFields)
        {
            Assert.True(field == missing ? !root.TryGetProperty(field, out _) : root.TryGetProperty(field, out _), $"{shape}: {field} in {Redacted(raw)}");
        }

        var createdAt = root.TryGetProperty("created_at", out var c) ? c : default;
        var expiresIn = root.TryGetProperty("expires_in", out var e) ? e : default;
        var tokenType = root.TryGetProperty("token_type", out var t) ? t.GetString() : null;
        switch (shape)
        {
            case TokenAnswerShape.OriginalCreatedAt:
                Assert.Equal(grantCreated.ToUnixTimeSeconds(), createdAt.GetInt64());
                Assert.NotEqual(now.ToUnixTimeSeconds(), createdAt.GetInt64());
                break;
            case TokenAnswerShape.CreatedAtMilliseconds:
                Assert.Equal(now.ToUnixTimeMilliseconds(), createdAt.GetInt64());
                break;
            case TokenAnswerShape.CreatedAtFuture:
                Assert.Equal(now.AddHours(1).ToUnixTimeSeconds(), createdAt.GetInt64());
                break;
            case TokenAnswerShape.CreatedAtString:
                Assert.Equal(JsonValueKind.String, createdAt.ValueKind);
                Assert.Equal(now.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), createdAt.GetString());
                break;
            case TokenAnswerShape.CreatedAtMissing:
                break;
            default:
                Assert.Equal(now.ToUnixTimeSeconds(), createdAt.GetInt64());
                break;
        }

        switch (shape)
        {
            case TokenAnswerShape.ExpiresInNull:
                Assert.Equal(JsonValueKind.Null, expiresIn.ValueKind);
                break;
            case TokenAnswerShape.ExpiresInZero:
                Assert.Equal(0, expiresIn.GetInt64());
                break;
            case TokenAnswerShape.ExpiresInDecimal:
                Assert.Contains("\"expires_in\":43200.0,", raw, StringComparison.Ordinal);
                Assert.Equal("43200.0", expiresIn.GetRawText());
                break;
            case TokenAnswerShape.ExpiresInString:
                Assert.Equal("43200", expiresIn.GetString());
                break;
            case TokenAnswerShape.ExpiresInHuge:
                Assert.Equal(99_999_999_999_999L, expiresIn.GetInt64());
                break;
            case TokenAnswerShape.ExpiresInNegative:
                Assert.True(expiresIn.GetInt64() < 0);
                break;
            case TokenAnswerShape.ExpiresInMissing:
                break;
            default:
                Assert.Equal(43200, expiresIn.GetInt64());
                break;
        }

        Assert.Equal(shape switch
        {
            TokenAnswerShape.TokenTypeLowercase => "bearer",
            TokenAnswerShape.TokenTypeOther => "mac",
            TokenAnswerShape.TokenTypeMissing => null,
            _ => "Bearer",
        }, tokenType);
        if (shape == TokenAnswerShape.ExtraFields)
        {
            Assert.Equal(JsonValueKind.Object, root.GetProperty("resource_owner").ValueKind);
            Assert.Equal(JsonValueKind.Array, root.GetProperty("resource_owner").GetProperty("roles").ValueKind);
            Assert.Equal(JsonValueKind.Array, root.GetProperty("accounts").ValueKind);
            Assert.Equal(JsonValueKind.Null, root.GetProperty("id_token").ValueKind);
        }

        if (shape != TokenAnswerShape.ScopeMissing)
        {
            Assert.Equal("user:profile:read user:clients:read", root.GetProperty("scope").GetString());
        }

        var access = root.GetProperty("access_token").GetString()!;
        var refresh = root.TryGetProperty("refresh_token", out var r) ? r.GetString() : null;
        if (shape == TokenAnswerShape.PaddedTokens)
        {
            Assert.NotEqual(access.Trim(), access);
            Assert.NotEqual(refresh!.Trim(), refresh);
            Assert.Contains('\n', access);
        }

        Assert.Matches("^[0-9a-f]{64}$", access.Trim());
        return (access.Trim(), refresh?.Trim());
    }

    /// <summary>The access token works on users/me; the refresh token refreshes exactly once.</summary>
    private async Task AssertPairWorksAsync(string? access, string? refresh)
    {
        if (access is not null)
        {
            using var me = await Client.MeAsync(access);
            Assert.Equal(HttpStatusCode.OK, me.StatusCode);
        }

        if (refresh is not null)
        {
            var next = await Client.RefreshPairAsync(refresh);
            Assert.True(Emulator.IsAccessTokenValid(next.AccessToken));
            using var reuse = await Client.RefreshAsync(refresh);
            Assert.Equal(HttpStatusCode.BadRequest, reuse.StatusCode);
        }
    }

    private static string Redacted(string raw) => System.Text.RegularExpressions.Regex.Replace(raw, "[0-9a-f]{64}", "<token>");
}
