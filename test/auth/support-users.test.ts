// Goal: createTestUser gives a signed-in user whose token works for GetCurrentUser.
import { AuthService } from "../../gen/bank/v1/auth_service_pb";
import { Role } from "../../gen/bank/v1/access_pb";
import { engines } from "../support/db";
import { client, startTestApp, type TestApp } from "../support/app";
import { createTestUser } from "../support/users";

describe.each(engines())("createTestUser on %s", (engine) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(engine);
  });
  afterAll(async () => t.stop());

  test("signs in and the token identifies the user", async () => {
    const u = await createTestUser(t, [Role.TELLER, Role.CUSTOMER]);
    const res = await client(t.baseUrl, AuthService, { token: u.token }).getCurrentUser({});
    expect(res.user?.id).toBe(u.id);
    expect(res.user?.roles).toEqual([Role.CUSTOMER, Role.TELLER]);
  });
});
