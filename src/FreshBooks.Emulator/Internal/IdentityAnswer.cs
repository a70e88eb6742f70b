using System.Globalization;
using System.Text.Json.Nodes;

namespace FreshBooks.Emulator.Internal;

/// <summary>
/// The <c>users/me</c> answer in the full shape FreshBooks sends and the official SDKs read (the Node SDK's
/// <c>User</c>, <c>Business</c>, <c>Role</c>, <c>Group</c> models; recorded answers in the Python SDK's
/// fixtures), including its nulls: <c>"addresses": [null]</c>, a phone number entry with a null number,
/// <c>"account_id": null</c> for a business without accounting.
/// </summary>
internal static class IdentityAnswer
{
    public static JsonObject For(EmulatedUser user)
    {
        var signedUp = Iso(user.SignedUpAt);
        var profession = new JsonObject
        {
            ["id"] = user.Id + 400_000,
            ["business_id"] = null,
            ["title"] = "Mathematician",
            ["company"] = user.Businesses.Count > 0 ? user.Businesses[0].Name : null,
            ["designation"] = null,
        };
        var withAccounting = user.Businesses.Where(b => b.HasAccounting).ToList();
        var me = new JsonObject
        {
            ["id"] = user.Id,
            ["identity_id"] = user.Id,
            ["identity_uuid"] = user.IdentityUuid,
            ["first_name"] = user.FirstName,
            ["last_name"] = user.LastName,
            ["email"] = user.Email,
            ["language"] = user.Language,
            ["confirmed_at"] = signedUp,
            ["created_at"] = signedUp,
            ["unconfirmed_email"] = null,
            ["setup_complete"] = true,
            ["phone_numbers"] = new JsonArray(new JsonObject { ["title"] = "", ["phone_number"] = user.PhoneNumber }),
            ["addresses"] = new JsonArray((JsonNode?)null),
            ["profile"] = new JsonObject
            {
                ["setup_complete"] = true,
                ["first_name"] = user.FirstName,
                ["last_name"] = user.LastName,
                ["phone_number"] = user.PhoneNumber,
                ["address"] = null,
                ["professions"] = new JsonArray(profession.DeepClone()),
                ["has_password"] = true,
            },
            ["profession"] = profession,
            ["links"] = new JsonObject
            {
                ["me"] = $"/service/auth/api/v1/users?id={user.Id}",
                ["roles"] = $"/service/auth/api/v1/users/role/{user.Id}",
            },
            ["permissions"] = Map(withAccounting, _ => new JsonObject
            {
                ["advanced_accounting.access"] = true,
                ["attachments.access"] = true,
                ["client.limit"] = -1,
                ["staff.limit"] = -1,
            }),
            ["groups"] = new JsonArray([.. user.Businesses.Select(b => (JsonNode)new JsonObject
            {
                ["id"] = b.MembershipId,
                ["group_id"] = b.BusinessId + 700_000,
                ["role"] = b.Role,
                ["identity_id"] = user.Id,
                ["identity_uuid"] = user.IdentityUuid,
                ["business_id"] = b.BusinessId,
                ["active"] = true,
            })]),
            ["subscription_statuses"] = Map(withAccounting, _ => JsonValue.Create("active")),
            ["integrations"] = new JsonObject(),
            ["business_memberships"] = new JsonArray([.. user.Businesses.Select(b => (JsonNode)Membership(b))]),
            ["identity_origin"] = null,
            // Roles are the accounting systems' user records: a business without accounting has none.
            ["roles"] = new JsonArray([.. withAccounting.Select(b => (JsonNode)new JsonObject
            {
                ["id"] = b.MembershipId,
                ["role"] = b.Role == "owner" ? "admin" : b.Role,
                ["systemid"] = b.BusinessId,
                ["userid"] = user.Id,
                ["created_at"] = signedUp,
                ["links"] = new JsonObject { ["destroy"] = $"/service/auth/api/v1/users/role/{b.MembershipId}" },
                ["accountid"] = b.AccountId,
            })]),
        };
        return new JsonObject { ["response"] = me };
    }

    private static JsonObject Membership(EmulatedBusiness business) => new()
    {
        ["id"] = business.MembershipId,
        ["role"] = business.Role,
        ["unacknowledged_change"] = false,
        ["business"] = new JsonObject
        {
            ["id"] = business.BusinessId,
            ["business_uuid"] = business.BusinessUuid,
            ["name"] = business.Name,
            ["account_id"] = business.HasAccounting ? business.AccountId : null,
            ["date_format"] = business.DateFormat,
            ["address"] = business.Address is { } a
                ? new JsonObject
                {
                    ["id"] = business.BusinessId + 300_000,
                    ["street"] = a.Street,
                    ["city"] = a.City,
                    ["province"] = a.Province,
                    ["country"] = a.Country,
                    ["postal_code"] = a.PostalCode,
                }
                : null,
            ["phone_number"] = business.PhoneNumber is { } phone
                ? new JsonObject { ["id"] = business.BusinessId + 600_000, ["phone_number"] = phone }
                : null,
            ["business_clients"] = new JsonArray(),
        },
    };

    private static JsonObject Map(IEnumerable<EmulatedBusiness> businesses, Func<EmulatedBusiness, JsonNode> value)
    {
        var map = new JsonObject();
        foreach (var business in businesses)
        {
            map[business.AccountId] = value(business);
        }

        return map;
    }

    private static string Iso(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
}
